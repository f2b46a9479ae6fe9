"""Stage ``parse``: ``logs.raw`` -> canonical events on ``logs.events`` (+ dead letters).

``logs.raw`` is read in batches with aiokafka's ``getmany`` in a consumer group of its
own (``app.batch_consumer``), not through a Faust agent: with one log record per Kafka
message (a plain producer, Vector, Fluent Bit) Faust's per-message hand-over cost more
than the parsing (bench/RESULTS.md, session 10). A batch is parsed by the pure core,
published, and its offsets are committed once Kafka acknowledged every record sent,
so an offset is never committed past an event that was not written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.deadletters import dead_letter_records
from agents.publish import Record, publish
from app import wiring
from app.adapters.service_registry import MongoServiceRegistry
from app.batch_consumer import BatchConsumer
from app.core.enrichment.metadata import ServiceDirectory
from app.core.eventbatch import doc_time, interleave
from app.core.ingest import Enrich, IngestLimits, IngestResult, RawMessage, ingest_message
from app.core.parsing import FormatDetector
from app.faust_app import app, events_topic, settings
from app.memory import trim_heap
from app.metrics import EVENTS_OUT, MESSAGE_PROCESSING, RECORDS_IN

#: Service metadata (team, owner, tier) for the ``service_meta`` enricher; operators edit
#: it in MongoDB and the task below swaps in each new snapshot without a restart.
SERVICE_DIRECTORY = ServiceDirectory()


def to_raw_message(record: Any) -> RawMessage:
    """An aiokafka ``ConsumerRecord`` of ``logs.raw`` as the pure core takes it."""
    headers = record.headers
    return RawMessage(
        value=record.value or b"",
        key=record.key,
        headers={key: value.decode("utf-8", "replace") if isinstance(value, bytes)
                 else str(value) for key, value in headers} if headers else {},
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp / 1000,  # Kafka: milliseconds
    )


class ParseStage:
    """Parses chunks of ``logs.raw`` records and publishes what they yield."""

    def __init__(self, detector: FormatDetector, limits: IngestLimits,
                 enrich: Enrich | None) -> None:
        self.detector, self.limits, self.enrich = detector, limits, enrich
        self.slice_s = max(settings.windows.grace_s / 2, 0.05)  # see interleave()
        self.event_message_bytes = settings.ingest.event_message_bytes

    def records(self, raw: Sequence[Any]) -> tuple[list[Record], IngestResult]:
        """The ``logs.events`` and dead-letter records of ``raw``, and the result."""
        result = IngestResult()
        detector, limits, enrich = self.detector, self.limits, self.enrich
        for record in raw:
            ingest_message(to_raw_message(record), detector, limits, result, enrich)
        out: list[Record] = [
            (events_topic, service.encode(), value)
            for service, value in interleave(result.by_service, doc_time, self.slice_s,
                                             self.event_message_bytes)
        ]
        out += dead_letter_records(result.dead_letters)
        return out, result

    async def handle(self, raw: list[Any]) -> None:
        records, result = self.records(raw)
        RECORDS_IN.labels("parse").inc(result.records)
        # acknowledged by Kafka (retried until it is) before the offsets commit
        await publish(records, what="parsed")
        EVENTS_OUT.labels("parse").inc(result.events)


def raw_consumer() -> BatchConsumer:
    ingest = settings.ingest
    return BatchConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, topic=settings.topics.raw,
        group_id=f"{settings.worker.app_id}-parse", max_records=ingest.parse_batch_size,
        max_bytes=ingest.parse_batch_bytes, wait_s=ingest.parse_batch_wait_s,
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        observe=MESSAGE_PROCESSING.labels("raw").observe,
        # while the worker's Faust group rebalances, its agents' buffers are cleared and
        # refilled; the stage pauses with them, as the parse agent it replaced did, rather
        # than publish logs.events into that (what kept the scale-out fault test's
        # rebalance waiting was elsewhere: dropped copies, app/stream_queues.py)
        wait_ready=app.flow_control.acquire)


@app.task  # type: ignore[untyped-decorator]  # faust types it loosely
async def refresh_service_directory() -> None:
    registry = MongoServiceRegistry(settings.mongo.url, settings.mongo.database)
    try:
        await registry.refresh_forever(SERVICE_DIRECTORY, settings.enrichment.registry_refresh_s)
    finally:
        await registry.close()


@app.task  # type: ignore[untyped-decorator]  # faust types it loosely
async def parse() -> None:
    stage = ParseStage(wiring.detector(settings), wiring.ingest_limits(settings),
                       wiring.enrichment(settings, SERVICE_DIRECTORY).run)
    trim_heap()  # what loading the enrichment databases freed (app/memory.py)
    await raw_consumer().run(stage.handle)
