"""Agent ``index``: ``logs.events`` -> Elasticsearch, in bulk.

The agent takes a batch of messages, writes every event they carry with one bulk
call (retried until Elasticsearch accepts it), and only then lets Faust acknowledge
the batch. Documents Elasticsearch refuses for good go to the dead-letter topic.

The events are not decoded: each message is split into its documents' own bytes
(``split_event_batch``), which go into the ``_bulk`` body as they are. A sink of the
``logwarden.sinks`` group that cannot take such bytes (no ``write_raw``) gets dicts.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol, runtime_checkable

import orjson

from agents.batches import acked_batches
from agents.deadletters import send_dead_letters
from app.core.deadletter import DeadLetter
from app.core.errors import ProcessorError, Reason
from app.core.eventbatch import RawEvent, split_event_batch
from app.faust_app import app, events_topic, settings
from app.metrics import EVENTS_OUT, RECORDS_IN
from app.plugins.context import new_sink

log = logging.getLogger(__name__)
STAGE = "index"


class IndexRejected(ProcessorError):
    stage = STAGE


@runtime_checkable
class RawSink(Protocol):
    """A sink that takes events as their JSON bytes (``ElasticsearchSink``)."""

    async def write_raw(self, events: list[RawEvent]) -> list[tuple[RawEvent, str]]: ...


@app.agent(events_topic, name="index")
async def index(stream: Any) -> None:
    es = settings.elasticsearch
    sink = new_sink("elasticsearch", settings)  # the built-in of the logwarden.sinks group
    try:
        async for batch in acked_batches(stream, es.bulk_max_messages, es.bulk_max_wait_s):
            docs, origins, letters = collect(batch)
            RECORDS_IN.labels(STAGE).inc(len(docs))
            if docs:
                rejected = await write(sink, docs)
                letters += [rejected_letter(doc, reason, origins[id(doc)])
                            for doc, reason in rejected]
                EVENTS_OUT.labels(STAGE).inc(len(docs) - len(rejected))
            await send_dead_letters(letters)
    finally:
        await sink.close()


async def write(sink: Any, docs: list[RawEvent]) -> list[tuple[RawEvent, str]]:
    """``docs`` through ``sink``: as bytes if it takes them, else decoded."""
    if isinstance(sink, RawSink):
        return list(await sink.write_raw(docs))
    dicts = [orjson.loads(bytes(body)) for _, _, body in docs]
    by_dict = {id(d): doc for d, doc in zip(dicts, docs, strict=True)}
    return [(by_dict[id(d)], reason) for d, reason in await sink.write(dicts)]


Origin = tuple[int, int, float]  # partition, offset, timestamp of the logs.events message


def collect(batch: list[Any]) -> tuple[list[RawEvent], dict[int, Origin], list[DeadLetter]]:
    """Events of a batch, where each came from (by ``id`` of the event), and bad messages."""
    docs: list[RawEvent] = []
    origins: dict[int, Origin] = {}
    letters: list[DeadLetter] = []
    for event in batch:
        msg = event.message
        try:
            items = split_event_batch(event.value or b"")
        except ProcessorError as exc:
            exc.stage = STAGE
            letters.append(DeadLetter.from_error(
                exc, event.value or b"", topic=msg.topic, partition=msg.partition,
                offset=msg.offset, index=0, first_seen=msg.timestamp or time.time()))
            continue
        origin = (msg.partition, msg.offset, msg.timestamp or time.time())
        for item in items:
            origins[id(item)] = origin
        docs.extend(items)
    return docs, origins, letters


def rejected_letter(doc: RawEvent, reason: str, origin: Origin) -> DeadLetter:
    body = bytes(doc[2])
    fields = orjson.loads(body)
    parse = fields.get("parse")
    parser = parse.get("parser") if isinstance(parse, dict) else None
    exc = IndexRejected(Reason.INDEX_REJECTED, reason, parser=parser)
    partition, offset, seen = origin
    return DeadLetter.from_error(exc, body, topic=settings.topics.events,
                                 partition=partition, offset=offset, index=0, first_seen=seen)
