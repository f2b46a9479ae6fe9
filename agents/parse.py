"""Agent ``parse``: ``logs.raw`` -> canonical events on ``logs.events`` (+ dead letters).

Thin by design: decode Faust's event into a ``RawMessage``, let the pure core parse
it, then publish. Sends are awaited until Kafka acknowledged them, so an offset is
never committed past an event that was not written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import orjson

from app.core.deadletter import DeadLetter
from app.core.ingest import IngestLimits, IngestResult, RawMessage, ingest_message
from app.core.parsing import FormatDetector
from app.faust_app import app, dlq_topic, events_topic, raw_topic, settings
from app.metrics import DEAD_LETTERS, EVENTS_OUT, RECORDS_IN


def to_raw_message(event: Any) -> RawMessage:
    msg = event.message
    return RawMessage(
        value=event.value or b"",
        key=event.key,
        headers=decode_headers(msg.headers),
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        timestamp=msg.timestamp,
    )


def decode_headers(headers: Any) -> dict[str, str]:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    out: dict[str, str] = {}
    for key, value in items:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out[str(key)] = str(value)
    return out


async def send_dead_letters(letters: list[DeadLetter]) -> list[Awaitable[Any]]:
    futures = []
    for letter in letters:
        DEAD_LETTERS.labels(letter.stage, letter.reason.value).inc()
        futures.append(await dlq_topic.send(key=letter.stage.encode(),
                                            value=orjson.dumps(letter.to_doc())))
    return futures


@app.agent(raw_topic, name="parse")
async def parse(stream: Any) -> None:
    detector = FormatDetector()
    ingest = settings.ingest
    limits = IngestLimits(max_record_bytes=ingest.max_record_bytes,
                          max_batch_records=ingest.max_batch_records,
                          max_json_depth=ingest.max_json_depth)
    async for batch in stream.take_events(ingest.parse_batch_size,
                                          within=ingest.parse_batch_wait_s):
        result = IngestResult()
        for event in batch:
            ingest_message(to_raw_message(event), detector, limits, result)
        RECORDS_IN.labels("parse").inc(result.records)
        futures = [
            await events_topic.send(key=service.encode(), value=orjson.dumps(docs))
            for service, docs in result.by_service.items()
        ]
        futures += await send_dead_letters(result.dead_letters)
        await asyncio.gather(*futures)  # acknowledged by Kafka before the offsets commit
        EVENTS_OUT.labels("parse").inc(result.events)
