"""Agent ``index``: ``logs.events`` -> Elasticsearch, in bulk.

The agent takes a batch of messages, writes every event they carry with one bulk
call (retried until Elasticsearch accepts it), and only then lets Faust acknowledge
the batch. Documents Elasticsearch refuses for good go to the dead-letter topic.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from agents.batches import acked_batches
from agents.deadletters import send_dead_letters
from agents.decoded import decoded
from app.core.deadletter import DeadLetter
from app.core.errors import ProcessorError, Reason
from app.faust_app import app, events_topic, settings
from app.metrics import EVENTS_OUT, RECORDS_IN
from app.plugins.context import new_sink

log = logging.getLogger(__name__)
STAGE = "index"


class IndexRejected(ProcessorError):
    stage = STAGE


@app.agent(events_topic, name="index")
async def index(stream: Any) -> None:
    es = settings.elasticsearch
    sink = new_sink("elasticsearch", settings)  # the built-in of the logwarden.sinks group
    try:
        async for batch in acked_batches(stream, es.bulk_max_messages, es.bulk_max_wait_s):
            docs, origins, letters = collect(batch)
            RECORDS_IN.labels(STAGE).inc(len(docs))
            if docs:
                rejected = await sink.write(docs)
                letters += [rejected_letter(doc, reason, origins[id(doc)])
                            for doc, reason in rejected]
                EVENTS_OUT.labels(STAGE).inc(len(docs) - len(rejected))
            await send_dead_letters(letters)
    finally:
        await sink.close()


Origin = tuple[int, int, float]  # partition, offset, timestamp of the logs.events message


def collect(batch: list[Any]) -> tuple[list[dict[str, Any]], dict[int, Origin], list[DeadLetter]]:
    """Events of a batch, where each came from (by ``id`` of the doc), and bad messages."""
    docs: list[dict[str, Any]] = []
    origins: dict[int, Origin] = {}
    letters: list[DeadLetter] = []
    for event in batch:
        msg = event.message
        try:
            items = decoded(event)
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


def rejected_letter(doc: dict[str, Any], reason: str, origin: Origin) -> DeadLetter:
    parser = doc.get("parse", {}).get("parser") if isinstance(doc.get("parse"), dict) else None
    exc = IndexRejected(Reason.INDEX_REJECTED, reason, parser=parser)
    partition, offset, seen = origin
    return DeadLetter.from_error(exc, orjson.dumps(doc), topic=settings.topics.events,
                                 partition=partition, offset=offset, index=0, first_seen=seen)
