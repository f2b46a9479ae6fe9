"""Dead letters read back from ``logs.dlq``, replayed to their source topic, and the
record of every replay in MongoDB.

A dead letter is named by where it sits in the dead-letter topic: ``<partition>-<offset>``.
Reading is bounded (``scan`` messages per partition, newest first). Replaying re-produces
the letter's original bytes to the topic it came from (letters of the raw topic only:
``decode``, ``parse`` and ``enrich`` stages), with the key and headers of the source
message when the source topic still holds it (minus the batch framing header when the
letter is one record of a batch), plus ``lw-replay-of``. Each replay is recorded in the
``dlq_replays`` collection (``_id``: the letter's id); a second replay of the same letter
is refused unless forced, and counted when forced.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.core.ingest import BATCH_HEADER

REPLAY_HEADER = "lw-replay-of"
REPLAYS = "dlq_replays"
Position = tuple[int, int]  # (partition, offset)


def letter_id(partition: int, offset: int) -> str:
    return f"{partition}-{offset}"


def parse_letter_id(text: str) -> Position | None:
    partition, sep, offset = text.partition("-")
    if not sep or not partition.isdigit() or not offset.isdigit():
        return None
    return int(partition), int(offset)


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """A dead-letter document and where it sits in the dead-letter topic."""

    partition: int
    offset: int
    timestamp: float  # when Kafka took it (epoch seconds)
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return letter_id(self.partition, self.offset)

    @classmethod
    def from_record(cls, record: ConsumerRecord[Any, Any]) -> StoredLetter:
        try:
            doc = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict):
            doc = {"stage": "?", "reason": "?", "error": "not a dead-letter document",
                   "original": "", "source": {}}
        return cls(record.partition, record.offset, record.timestamp / 1000, doc)

    @property
    def source(self) -> dict[str, Any]:
        source = self.doc.get("source")
        return source if isinstance(source, dict) else {}


def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                            enable_auto_commit=False, request_timeout_ms=15_000)


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """``topic``'s partitions from fresh cluster metadata (``consumer.topics()`` fetches it
    but does not keep it: ``partitions_for_topic`` knows only subscribed topics)."""
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]


async def _read(consumer: AIOKafkaConsumer, starts: dict[TopicPartition, int],
                ends: dict[TopicPartition, int], timeout_s: float,
                ) -> list[ConsumerRecord[Any, Any]]:
    """Records from ``starts`` up to (not including) ``ends`` of each partition."""
    wanted = {tp: start for tp, start in starts.items() if start < ends[tp]}
    if not wanted:
        return []
    consumer.assign(list(wanted))
    for tp, start in wanted.items():
        consumer.seek(tp, start)
    found: list[ConsumerRecord[Any, Any]] = []
    deadline = time.monotonic() + timeout_s
    open_ = set(wanted)
    while open_ and time.monotonic() < deadline:
        batches = await consumer.getmany(*open_, timeout_ms=500)
        for tp, records in batches.items():
            found += [r for r in records if r.offset < ends[tp]]
            if records and records[-1].offset >= ends[tp] - 1:
                open_.discard(tp)
        for tp in list(open_):  # compacted or deleted tails: the position says it is done
            if await consumer.position(tp) >= ends[tp]:
                open_.discard(tp)
    return found


async def read_recent(bootstrap: str, topic: str, *, scan: int = 500,
                      timeout_s: float = 10.0) -> list[StoredLetter]:
    """The newest ``scan`` dead letters of each partition of ``topic``, newest first."""
    consumer = _consumer(bootstrap)
    await consumer.start()
    try:
        tps = await partitions(consumer, topic)
        if not tps:
            return []
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        starts = {tp: max(begins[tp], ends[tp] - scan) for tp in tps}
        records = await _read(consumer, starts, ends, timeout_s)
    finally:
        await consumer.stop()
    letters = [StoredLetter.from_record(r) for r in records]
    return sorted(letters, key=lambda s: (s.timestamp, s.partition, s.offset), reverse=True)


async def fetch(bootstrap: str, topic: str, positions: Iterable[Position],
                timeout_s: float = 10.0) -> dict[Position, ConsumerRecord[Any, Any]]:
    """The records of ``topic`` at ``positions`` that it (still) holds."""
    wanted = set(positions)
    if not wanted:
        return {}
    consumer = _consumer(bootstrap)
    await consumer.start()
    found: dict[Position, ConsumerRecord[Any, Any]] = {}
    try:
        known = {tp.partition for tp in await partitions(consumer, topic)}
        wanted = {(p, o) for p, o in wanted if p in known}
        tps = sorted({TopicPartition(topic, p) for p, _ in wanted})
        if not tps:
            return {}
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:  # one pass per partition, from its lowest wanted offset
            offsets = sorted(o for p, o in wanted if p == tp.partition
                             and begins[tp] <= o < ends[tp])
            if not offsets:
                continue
            for record in await _read(consumer, {tp: offsets[0]}, {tp: offsets[-1] + 1},
                                      timeout_s):
                if (record.partition, record.offset) in wanted:
                    found[(record.partition, record.offset)] = record
    finally:
        await consumer.stop()
    return found


def replay_headers(source: ConsumerRecord[Any, Any] | None, original: bytes,
                   letter: str) -> list[tuple[str, bytes]]:
    """The source message's headers for a replay of ``original``; without the batch
    framing unless the letter is the whole message."""
    headers = list(source.headers or ()) if source is not None else []
    if source is not None and source.value != original:
        headers = [(k, v) for k, v in headers if k != BATCH_HEADER]
    return [(k, v) for k, v in headers if k != REPLAY_HEADER] + [
        (REPLAY_HEADER, letter.encode())]


async def produce(bootstrap: str, messages: list[tuple[str, bytes | None, bytes,
                                                        list[tuple[str, bytes]]]],
                  ) -> list[Position]:
    """Send ``(topic, key, value, headers)`` messages, acknowledged; their positions."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                request_timeout_ms=15_000)
    await producer.start()
    try:
        sent = await asyncio.gather(*[
            producer.send_and_wait(topic, key=key, value=value, headers=headers)
            for topic, key, value, headers in messages])
        return [(m.partition, m.offset) for m in sent]
    finally:
        await producer.stop()


class ReplayLog:
    """Which dead letters were replayed, by whom, when, how often (``dlq_replays``)."""

    def __init__(self, url: str, database: str, *,
                 client: AsyncMongoClient[dict[str, Any]] | None = None) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = client or AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000)
        self._replays = self._client[database][REPLAYS]

    async def close(self) -> None:
        await self._client.close()

    async def claim(self, letter: str, by: str, at: float, *, force: bool,
                    ) -> tuple[bool, dict[str, Any] | None]:
        """Record a replay of ``letter``: ``(True, doc)`` if it may go ahead; ``(False,
        earlier)`` when it was replayed before and ``force`` is false."""
        when = datetime.fromtimestamp(at, tz=UTC)
        entry = {"by": by, "at": when}
        try:
            await self._replays.insert_one({"_id": letter, "count": 1, "first_by": by,
                                            "first_at": when, "last_by": by,
                                            "last_at": when, "history": [entry]})
            return True, None
        except DuplicateKeyError:
            pass
        if not force:
            return False, await self._replays.find_one({"_id": letter})
        doc = await self._replays.find_one_and_update(
            {"_id": letter}, {"$inc": {"count": 1}, "$set": {"last_by": by, "last_at": when},
                              "$push": {"history": {"$each": [entry], "$slice": -20}}},
            return_document=ReturnDocument.BEFORE)
        return True, doc

    async def release(self, letter: str, before: dict[str, Any] | None) -> None:
        """Undo ``claim`` after the replay could not be produced."""
        if before is None:
            await self._replays.delete_one({"_id": letter})
        else:
            await self._replays.replace_one({"_id": letter}, before)

    async def done(self, letter: str, target: dict[str, Any]) -> None:
        await self._replays.update_one({"_id": letter}, {"$set": {"target": target}})

    async def of(self, letters: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(letters)
        if not ids:
            return {}
        return {doc["_id"]: doc async for doc in self._replays.find({"_id": {"$in": ids}})}
