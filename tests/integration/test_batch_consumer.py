"""``app.batch_consumer`` on the real Kafka: every record handed out once, committed
only after its chunk was handled, again after a handler failure, and a rebalance
waits for the chunk in hand."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app.batch_consumer import RUNNING, BatchConsumer

pytestmark = pytest.mark.integration


@pytest.fixture()
async def topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    name = f"test-batches-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int, size: int = 100) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(count):
            await producer.send(topic, key=b"%d" % i, value=b"%06d" % i + b"x" * (size - 6),
                                partition=i % 2)
        await producer.flush()
    finally:
        await producer.stop()


def reader(bootstrap: str, topic: str, group: str, **kwargs: Any) -> BatchConsumer:
    options: dict[str, Any] = {"max_records": 50, "max_bytes": 1_000, "wait_s": 0.1,
                               "fetch_max_wait_ms": 100} | kwargs
    return BatchConsumer(bootstrap_servers=bootstrap, topic=topic, group_id=group, **options)


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.1)):  # bounded
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def running(consumer: BatchConsumer, handle: Callable[[list[Any]], Awaitable[None]]
                  ) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(consumer.run(handle))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def ids(records: list[Any]) -> list[int]:
    return [int(r.value[:6]) for r in records]


async def committed(consumer: BatchConsumer, topic: str) -> dict[int, int | None]:
    return {p: await consumer.consumer.committed(TopicPartition(topic, p)) for p in (0, 1)}


async def test_every_record_once_in_byte_bounded_chunks_then_committed(
        kafka_bootstrap: str, topic: str) -> None:
    await produce(kafka_bootstrap, topic, 120)
    group = f"g-{uuid.uuid4().hex[:8]}"
    got: list[list[int]] = []

    async def handle(chunk: list[Any]) -> None:
        got.append(ids(chunk))

    first = reader(kafka_bootstrap, topic, group)
    async with running(first, handle):
        await until(lambda: sum(map(len, got)) >= 120, 30, "120 records")
        assert first in RUNNING
        await until(lambda: dict(first.lags()) == {0: 0, 1: 0}, 10, "no lag")
        assert await committed(first, topic) == {0: 60, 1: 60}
    assert first not in RUNNING
    assert sorted(i for chunk in got for i in chunk) == list(range(120))
    assert max(map(len, got)) <= 10  # 100-byte values, 1,000 bytes a chunk

    again: list[int] = []

    async def handle_again(chunk: list[Any]) -> None:
        again.extend(ids(chunk))

    await produce(kafka_bootstrap, topic, 2)  # ids 0, 1 again: the only ones to come
    async with running(reader(kafka_bootstrap, topic, group), handle_again):
        await until(lambda: len(again) >= 2, 30, "the two new records")
        await asyncio.sleep(1)
    assert sorted(again) == [0, 1]


async def test_a_failed_chunk_is_read_again_from_the_committed_offset(
        kafka_bootstrap: str, topic: str) -> None:
    await produce(kafka_bootstrap, topic, 40)
    seen: list[int] = []
    failures = 0

    async def handle(chunk: list[Any]) -> None:
        nonlocal failures
        if failures == 0 and any(i >= 20 for i in ids(chunk)):
            failures += 1
            raise RuntimeError("a handler bug")
        seen.extend(ids(chunk))

    consumer = reader(kafka_bootstrap, topic, f"g-{uuid.uuid4().hex[:8]}", retry_after_s=0.2)
    async with running(consumer, handle):
        await until(lambda: set(seen) == set(range(40)), 30, "all 40 after the failure")
    assert failures == 1


async def test_a_rebalance_waits_for_the_chunk_in_hand(kafka_bootstrap: str,
                                                       topic: str) -> None:
    await produce(kafka_bootstrap, topic, 40)
    group = f"g-{uuid.uuid4().hex[:8]}"
    handled: list[tuple[str, int]] = []
    in_hand, release = asyncio.Event(), asyncio.Event()

    async def slow(chunk: list[Any]) -> None:
        in_hand.set()
        await release.wait()  # a chunk that takes its time (a sink slowing down)
        handled.extend(("a", i) for i in ids(chunk))

    async def fast(chunk: list[Any]) -> None:
        handled.extend(("b", i) for i in ids(chunk))

    a = reader(kafka_bootstrap, topic, group)
    async with running(a, slow):
        await asyncio.wait_for(in_hand.wait(), 30)
        async with running(reader(kafka_bootstrap, topic, group), fast):
            await asyncio.sleep(3)  # b joined; the rebalance waits on a's chunk
            assert not any(who == "b" for who, _ in handled)
            release.set()
            await until(lambda: {i for _, i in handled} == set(range(40)), 60, "all 40")
            await asyncio.sleep(1)
    numbers = [i for _, i in handled]
    assert sorted(numbers) == list(range(40)), "a record was handled twice or never"
    assert {who for who, _ in handled} == {"a", "b"}


async def test_a_failed_rewind_is_tried_again_before_anything_else_is_read(
        kafka_bootstrap: str, topic: str) -> None:
    await produce(kafka_bootstrap, topic, 40)
    seen: list[int] = []
    failed = False

    async def handle(chunk: list[Any]) -> None:
        nonlocal failed
        if not failed and any(i >= 20 for i in ids(chunk)):
            failed = True
            raise RuntimeError("a handler bug")
        seen.extend(ids(chunk))

    consumer = reader(kafka_bootstrap, topic, f"g-{uuid.uuid4().hex[:8]}", retry_after_s=0.2)
    rewind, rewinds = consumer._rewind, []

    async def flaky_rewind() -> None:
        rewinds.append(1)
        if len(rewinds) == 1:
            raise RuntimeError("broker unreachable")  # e.g. the committed offsets
        await rewind()

    consumer._rewind = flaky_rewind  # type: ignore[method-assign]
    async with running(consumer, handle):
        await until(lambda: set(seen) == set(range(40)), 30, "all 40 after two rewinds")
    assert len(rewinds) == 2
