"""``app.adapters.tail_bus`` on real Redis: publish, fan-out to listeners, unsubscribe."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.adapters.tail_bus import MESSAGE_CAP, RateCap, TailHub, TailPublisher, sample
from tests.conftest import require_tcp

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6380/0"


async def test_events_reach_every_listener_and_the_hub_unsubscribes_when_idle() -> None:
    require_tcp("Redis", "127.0.0.1:6380")
    channel = f"lw:tail:it-{uuid.uuid4().hex[:8]}"
    publisher = TailPublisher(REDIS_URL, channel)
    hub = TailHub(REDIS_URL, channel)
    try:
        assert await publisher.publish([{"event_id": "nobody"}]) == 0
        first, second = await hub.listen(), await hub.listen()
        assert await publisher.publish([{"event_id": "a", "message": "x" * 10_000},
                                        {"event_id": "b"}]) == 1  # one node, one subscription
        for listener in (first, second):
            batch = await asyncio.wait_for(listener.get(), 5)
            assert [d["event_id"] for d in batch] == ["a", "b"]
            assert len(batch[0]["message"]) == MESSAGE_CAP and batch[0]["message_truncated"]
        await first.close()
        assert await publisher.publish([{"event_id": "c"}]) == 1
        assert [d["event_id"] for d in await asyncio.wait_for(second.get(), 5)] == ["c"]
        await second.close()
        assert hub.listeners == 0
        assert await publisher.publish([{"event_id": "d"}]) == 0  # unsubscribed
    finally:
        await hub.close()
        await publisher.close()


async def test_a_slow_listener_drops_instead_of_blocking_others() -> None:
    require_tcp("Redis", "127.0.0.1:6380")
    channel = f"lw:tail:it-{uuid.uuid4().hex[:8]}"
    publisher = TailPublisher(REDIS_URL, channel)
    hub = TailHub(REDIS_URL, channel)
    try:
        slow = await hub.listen(maxsize=2)
        fast = await hub.listen(maxsize=100)
        for i in range(5):
            await publisher.publish([{"event_id": str(i)}])
        got = [(await asyncio.wait_for(fast.get(), 5))[0]["event_id"] for _ in range(5)]
        assert got == ["0", "1", "2", "3", "4"]
        assert slow.queue.qsize() == 2 and slow.dropped == 3
    finally:
        await hub.close()
        await publisher.close()


def test_rate_cap_and_sample() -> None:
    cap = RateCap(10, burst=10)
    assert cap.take(25, now=0.0) == 10
    assert cap.take(25, now=0.5) == 5
    assert cap.take(1, now=0.5) == 0
    assert cap.take(100, now=10.0) == 10  # never more than the burst
    assert sample(list(range(10)), 5) == [0, 2, 4, 6, 8]
    assert sample([1, 2], 5) == [1, 2] and sample([1, 2], 0) == []
