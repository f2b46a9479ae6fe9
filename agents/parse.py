"""Agent ``parse``: ``logs.raw`` -> canonical events on ``logs.events`` (+ dead letters).

Thin by design: decode Faust's event into a ``RawMessage``, let the pure core parse
it, then publish. Sends are awaited until Kafka acknowledged them, so an offset is
never committed past an event that was not written.
"""

from __future__ import annotations

from typing import Any

from agents.batches import acked_batches
from agents.deadletters import dead_letter_records
from agents.publish import Record, publish
from app import wiring
from app.adapters.service_registry import MongoServiceRegistry
from app.core.enrichment.metadata import ServiceDirectory
from app.core.eventbatch import doc_time, interleave
from app.core.ingest import IngestResult, RawMessage, ingest_message
from app.faust_app import app, events_topic, raw_topic, settings
from app.memory import trim_heap
from app.metrics import EVENTS_OUT, RECORDS_IN

#: Service metadata (team, owner, tier) for the ``service_meta`` enricher; operators edit
#: it in MongoDB and the task below swaps in each new snapshot without a restart.
SERVICE_DIRECTORY = ServiceDirectory()


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


@app.task  # type: ignore[untyped-decorator]  # faust types it loosely
async def refresh_service_directory() -> None:
    registry = MongoServiceRegistry(settings.mongo.url, settings.mongo.database)
    try:
        await registry.refresh_forever(SERVICE_DIRECTORY, settings.enrichment.registry_refresh_s)
    finally:
        await registry.close()


@app.agent(raw_topic, name="parse")
async def parse(stream: Any) -> None:
    detector = wiring.detector(settings)
    enrich = wiring.enrichment(settings, SERVICE_DIRECTORY).run
    limits = wiring.ingest_limits(settings)
    trim_heap()  # what loading the enrichment databases freed (app/memory.py)
    ingest = settings.ingest
    slice_s = max(settings.windows.grace_s / 2, 0.05)  # see interleave()
    async for batch in acked_batches(stream, ingest.parse_batch_size,
                                   within=ingest.parse_batch_wait_s,
                                   max_bytes=ingest.parse_batch_bytes):
        result = IngestResult()
        for event in batch:
            ingest_message(to_raw_message(event), detector, limits, result, enrich)
        RECORDS_IN.labels("parse").inc(result.records)
        records: list[Record] = [
            (events_topic, service.encode(), value)
            for service, value in interleave(result.by_service, doc_time, slice_s,
                                             ingest.event_message_bytes)
        ]
        records += dead_letter_records(result.dead_letters)
        # acknowledged by Kafka (retried until it is) before the offsets commit
        await publish(records, what="parsed")
        EVENTS_OUT.labels("parse").inc(result.events)
