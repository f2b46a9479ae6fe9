"""Silences and acknowledgements as events on ``alerts.silences`` (the one way to write
them: CLI, web UI), and the feed every worker folds them from.

The topic is compacted and keyed by id: a silence record replaces the earlier record of
that id (expiring re-publishes it with ``ends_at`` = now), an ack record is keyed by
fingerprint and activation. ``MuteFeed`` reads the topic from the beginning (and
``alerts.transitions``, for what fires anywhere: inhibition), so a restart or a new
worker rebuilds the same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from app.core.alerting.silences import Ack, Mutes, Silence
from app.settings import Settings

log = logging.getLogger(__name__)


async def _publish(settings: Settings, key: str, doc: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topics.alerts_silences, key=key.encode(),
                                     value=orjson.dumps(doc))
    finally:
        await producer.stop()


async def publish_silence(settings: Settings, silence: Silence) -> None:
    """Create or replace a silence (acknowledged by Kafka before returning)."""
    await _publish(settings, silence.id, silence.to_doc())


async def publish_ack(settings: Settings, ack: Ack) -> None:
    await _publish(settings, ack.id, ack.to_doc())


async def read_mutes(settings: Settings, timeout_s: float = 10.0) -> Mutes:
    """Every silence and ack on the topic, read to its current end."""
    mutes = Mutes()
    await _read_to_end(settings, [settings.topics.alerts_silences],
                       lambda topic, doc: mutes.apply(doc), timeout_s)
    return mutes


async def expire_silence(settings: Settings, silence_id: str, at: float) -> Silence | None:
    silence = (await read_mutes(settings)).silences.get(silence_id)
    if silence is None:
        return None
    expired = silence.expired(at)
    await publish_silence(settings, expired)
    return expired


async def _read_to_end(settings: Settings, topics: list[str],
                       fold: Callable[[str, dict[str, Any]], None], timeout_s: float) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers,
                                group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in topics
                 for p in (consumer.partitions_for_topic(t) or set())]
        if not parts:  # no metadata for these topics yet: fetch it (aiokafka has no
            # public call for that on a consumer; ``topics()`` drops the partitions)
            cluster = await consumer._client.fetch_all_metadata()
            parts = [TopicPartition(t, p) for t in topics
                     for p in (cluster.partitions_for_topic(t) or set())]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {', '.join(topics)} took longer than {timeout_s}s")
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    _fold_one(fold, tp.topic, record.value)
    finally:
        await consumer.stop()


def _fold_one(fold: Callable[[str, dict[str, Any]], None], topic: str, raw: bytes | None) -> None:
    try:
        doc = orjson.loads(raw or b"null")
        if isinstance(doc, dict):
            fold(topic, doc)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("skipping a bad record on %s: %s", topic, exc)


class MuteFeed:
    """Folds ``alerts.silences`` and ``alerts.transitions`` into ``mutes``, continuously."""

    def __init__(self, settings: Settings, mutes: Mutes | None = None,
                 on_mute: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.mutes = mutes if mutes is not None else Mutes()
        self.on_mute = on_mute
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        topics = [self.settings.topics.alerts_silences, self.settings.topics.alerts_transitions]
        while True:
            try:
                await self._follow(topics)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka away: retry; the state is rebuilt from 0
                log.warning("silence feed stopped (%r); restarting in 2 s", exc)
                await asyncio.sleep(2.0)

    async def _follow(self, topics: list[str]) -> None:
        consumer = AIOKafkaConsumer(*topics,
                                    bootstrap_servers=self.settings.kafka.bootstrap_servers,
                                    group_id=None, auto_offset_reset="earliest",
                                    enable_auto_commit=False, metadata_max_age_ms=5000)
        await consumer.start()
        try:
            mutes = Mutes()
            caught_up = False
            ends: dict[TopicPartition, int] | None = None
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                mute_docs: list[dict[str, Any]] = []
                for tp, records in batches.items():
                    for record in records:
                        if tp.topic == self.settings.topics.alerts_silences and record.value:
                            with contextlib.suppress(ValueError):
                                mute_docs.append(orjson.loads(record.value))
                        _fold_one(lambda t, d: self._fold_into(mutes, t, d), tp.topic,
                                  record.value)
                if self.on_mute is not None and mute_docs:
                    await self.on_mute({"docs": mute_docs})
                if not caught_up:
                    assigned = consumer.assignment()
                    if assigned:
                        ends = ends or await consumer.end_offsets(list(assigned))
                        if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                            caught_up = True
                if caught_up:
                    self.mutes.silences, self.mutes.acks = mutes.silences, mutes.acks
                    self.mutes.firing = mutes.firing
                    self.ready.set()
        finally:
            await consumer.stop()

    def _fold_into(self, mutes: Mutes, topic: str, doc: dict[str, Any]) -> None:
        if topic == self.settings.topics.alerts_silences:
            mutes.apply(doc)
        else:
            mutes.observe_transition(doc, doc.get("labels") or {})

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
