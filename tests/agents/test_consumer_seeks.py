"""A seek cuts short the batch being delivered (app/consumer_seeks.py).

Faust's own drain loop (``Consumer._drain_messages``), ``getmany`` and
``perform_seek`` run for real; only the broker under them is replaced: fetches come
from a script of record batches and the committed offsets from a dict, after a
round trip. The race is the one after a rebalance: the flow is resumed, the drain loop
delivers a batch fetched from the old positions, and the seek to the committed offsets
finishes in the middle of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from app.consumer_seeks import guard_seeks

TOPIC = "lw-test.logs.events"
TP0 = TP(TOPIC, 0)


LOG_END = 260  # offsets 100-259 are in the log; 100 is committed


class Broker:
    """Serves scripted fetches of TP0 and answers ``perform_seek``, which runs
    alongside the drain loop as Faust's recovery runs it.

    The seek finishes after the record at ``release_at`` has been handed over: during
    the hand-over of that record (``finish="handover"``), or at the drain loop's next
    rest (``"rest"``: it sleeps every hundred records); or while the first fetch is
    out (``"fetch"``), which then returns records from the new positions."""

    def __init__(self, consumer: Any, batches: list[range], release_at: int | None,
                 finish: str) -> None:
        self.consumer, self.batches = consumer, batches
        self.release_at, self.finish = release_at, finish
        self.released = asyncio.Event()
        self.armed = False
        self.delivered: list[int] = []
        self.seek_done_at: int | None = None  # len(delivered) when the seek finished
        self.seek_done = asyncio.Event()
        self.fetcher = SimpleNamespace(_stopped=asyncio.Event())

    async def next_records(self, timeout: float) -> tuple[Any, Any]:
        if self.finish == "fetch" and not self.released.is_set():
            self.released.set()
            await self.seek_done.wait()  # the seek finishes while the fetch is out
        if not self.batches:
            self.fetcher._stopped.set()
            return {}, None
        batch = self.batches.pop(0)
        records = [ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"v", None, 1, 1, [])
                   for offset in batch]
        return {TP0: records}, None

    async def seek_to_committed(self) -> dict[TP, int]:
        await self.released.wait()  # the broker's answer
        self.batches[:] = [range(100, LOG_END)]  # fetched again from the committed one
        return {TP0: 100}

    async def callback(self, message: Any) -> None:
        self.delivered.append(message.offset)
        if message.offset == self.release_at:
            if self.finish == "handover":
                self.released.set()
                await self.seek_done.wait()
            else:
                self.armed = True

    async def rest(self, real_sleep: Any, delay: float) -> None:
        if self.armed and delay == 0:
            self.armed = False
            self.released.set()
            await self.seek_done.wait()
        await real_sleep(delay)

    async def seek(self) -> None:
        await self.consumer.perform_seek()
        self.seek_done_at = len(self.delivered)
        self.seek_done.set()


@pytest.fixture()
def acking(fapp: Any) -> Iterator[Any]:
    fapp.topics._acking_topics.add(TOPIC)
    yield fapp
    fapp.topics._acking_topics.discard(TOPIC)


async def run(fapp: Any, monkeypatch: pytest.MonkeyPatch, *, guarded: bool,
              release_at: int | None = None, finish: str = "handover",
              batches: list[range] | None = None) -> tuple[Any, Broker]:
    async def unused(*args: Any) -> None:
        raise AssertionError("replaced by the test's broker")

    consumer = fapp.transport.Consumer(fapp.transport, callback=unused,
                                       on_partitions_revoked=unused,
                                       on_partitions_assigned=unused,
                                       loop=asyncio.get_running_loop())
    consumer.resume_flow()
    broker = Broker(consumer, batches or [range(100, LOG_END)], release_at, finish)
    consumer.callback = broker.callback
    consumer._wait_next_records = broker.next_records
    consumer.seek_to_committed = broker.seek_to_committed
    consumer.highwater = lambda tp: 0
    if guarded:
        guard_seeks(consumer)
    real_sleep = asyncio.sleep
    with monkeypatch.context() as patch:
        patch.setattr(asyncio, "sleep", lambda delay, *a: broker.rest(real_sleep, delay))
        seek = asyncio.create_task(broker.seek()) if release_at is not None else None
        await asyncio.wait_for(consumer._drain_messages(broker.fetcher), timeout=5)
        if seek is not None:
            await asyncio.wait_for(seek, timeout=5)
    return consumer, broker


def gap_offsets(consumer: Any) -> set[int]:
    return {offset for iv in consumer._gap[TP0] for offset in range(iv.begin, iv.end)}


async def test_unguarded_faust_turns_a_seek_at_a_rest_into_a_gap(
        acking: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bug: the next stale record (200, after the rest) meets the read offset the
    seek set (100); 101-200 become a gap, which the commit counts as acknowledged
    whether processed or not, and everything fetched again is dropped as read."""
    consumer, broker = await run(acking, monkeypatch, guarded=False, release_at=150,
                                 finish="rest")
    assert gap_offsets(consumer) == set(range(101, 201))
    assert broker.delivered[:LOG_END - 100] == list(range(100, LOG_END))
    assert broker.delivered[LOG_END - 100:] == [LOG_END - 1]  # the rest: dropped as read


@pytest.mark.parametrize(("release_at", "finish"), [
    (100, "rest"), (150, "rest"), (199, "rest"),
    (100, "handover"), (103, "handover"), (199, "handover"), (200, "handover"),
    (LOG_END - 1, "handover")])
async def test_after_a_seek_every_record_is_delivered_again_and_none_is_a_gap(
        acking: Any, monkeypatch: pytest.MonkeyPatch, release_at: int, finish: str
        ) -> None:
    consumer, broker = await run(acking, monkeypatch, guarded=True,
                                 release_at=release_at, finish=finish)
    assert gap_offsets(consumer) == set()
    assert broker.seek_done_at is not None
    # at most the record being handed over goes out between the seek and the cut
    again = broker.delivered[broker.seek_done_at:]
    assert again[-(LOG_END - 100):] == list(range(100, LOG_END))
    assert consumer._read_offset[TP0] == LOG_END - 1


async def test_records_fetched_after_a_seek_are_delivered_once(
        acking: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fetch that was out when the seek finished read the new positions: dropping
    its records would skip them for good (the client has moved past them)."""
    consumer, broker = await run(acking, monkeypatch, guarded=True, release_at=-1,
                                 finish="fetch")
    assert broker.delivered == list(range(100, LOG_END))
    assert gap_offsets(consumer) == set()


async def test_without_a_seek_nothing_is_delivered_twice(
        acking: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer, broker = await run(acking, monkeypatch, guarded=True,
                                 batches=[range(100, 160), range(160, LOG_END)])
    assert broker.delivered == list(range(100, LOG_END))
    assert gap_offsets(consumer) == set()


async def test_a_real_jump_in_offsets_is_still_a_gap(
        acking: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the gap is for (compacted topics, transaction markers) still works; Faust
    counts the record after the jump in too."""
    consumer, _ = await run(acking, monkeypatch, guarded=True,
                            batches=[range(100, 105), range(108, 110)])
    assert gap_offsets(consumer) == {105, 106, 107, 108}
