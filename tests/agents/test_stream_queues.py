"""``ClearableQueue``: a put that waits when a rebalance clears the buffer lets go.

Faust's ``Consumer.wait_empty`` waits until every message handed to a stream is
acknowledged or garbage; a put stuck on a suspended flow or a full buffer held its
message forever (app/stream_queues.py). These tests drive the queue with mode's own
``FlowControlEvent``, as Faust's rebalance does (suspend, clear, resume).
"""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from mode.utils.queues import FlowControlEvent

from app.faust_app import app
from app.stream_queues import ClearableQueue


class Message:
    """Stands for a ``ConsumerMessage``: Faust tracks those in a WeakSet."""


def queue(maxsize: int = 2, *, active: bool = True) -> tuple[ClearableQueue, FlowControlEvent]:
    flow = FlowControlEvent(initially_suspended=not active)
    q = ClearableQueue(maxsize=maxsize, flow_control=flow, clear_on_resume=True)
    return q, flow


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_puts_and_gets_in_order_while_flow_is_active() -> None:
    q, _ = queue(maxsize=3)
    for value in ("a", "b", "c"):
        await q.put(value)
    assert [q.get_nowait() for _ in range(3)] == ["a", "b", "c"]
    assert q.waiting_puts == 0


async def test_a_put_waiting_for_room_goes_in_when_a_reader_takes_one() -> None:
    q, _ = queue(maxsize=1)
    await q.put("first")
    put = asyncio.ensure_future(q.put("second"))
    await settle()
    assert not put.done() and q.waiting_puts == 1
    assert await q.get() == "first"
    await asyncio.wait_for(put, 1)
    assert q.get_nowait() == "second" and q.waiting_puts == 0


async def test_a_put_blocked_on_a_suspended_flow_returns_when_the_buffer_is_cleared() -> None:
    q, flow = queue()
    message = Message()
    tracked = weakref.WeakSet([message])
    put = asyncio.ensure_future(q.put(message))
    await settle()
    flow.suspend()  # a rebalance starts
    del message
    other = asyncio.ensure_future(q.put(Message()))  # handed over after the suspend
    await settle()
    assert not other.done()
    flow.clear()  # Faust's _on_partitions_revoked: flow_control.clear()
    await asyncio.wait_for(asyncio.gather(put, other), 1)
    assert q.empty() and q.waiting_puts == 0
    gc.collect()
    # what Consumer.wait_empty waits for: nothing holds the message any more
    assert len(tracked) == 0


async def test_a_put_blocked_on_a_full_buffer_returns_when_it_is_cleared() -> None:
    q, flow = queue(maxsize=1)
    await q.put("queued")
    message = Message()
    tracked = weakref.WeakSet([message])
    put = asyncio.ensure_future(q.put(message))
    del message
    await settle()
    flow.suspend()
    flow.clear()
    await asyncio.wait_for(put, 1)
    gc.collect()
    assert q.empty() and len(tracked) == 0


class KafkaMessage:
    """Stands for a ``ConsumerMessage`` (``tp``, ``ack``)."""

    tp = ("logs.events", 3)

    def __init__(self) -> None:
        self.acks = 0

    def ack(self, consumer: object) -> bool:
        self.acks += 1
        return False


class KafkaEvent:
    """Stands for a Faust ``Event`` of a Kafka message (``event.message.tp``); what
    letting go of a dropped copy does to the real ones is in test_rebalance_acks.py."""

    def __init__(self) -> None:
        self.app = type("App", (), {"consumer": None})()
        self.message = KafkaMessage()


async def test_a_kafka_event_handed_over_after_the_clear_is_dropped_at_once() -> None:
    """The conductor's background put for a full buffer can start after the rebalance
    cleared the buffers: nothing clears them again before the flow resumes, and the
    flow resumes only once the message is let go of."""
    q, flow = queue(maxsize=1)
    await q.put("queued")
    flow.suspend()
    flow.clear()
    event = KafkaEvent()
    message = event.message
    tracked = weakref.WeakSet([message])
    await asyncio.wait_for(q.put(event), 1)
    assert message.acks == 1  # the stream's copy let go of (as unprocessed)
    del event, message
    gc.collect()
    assert q.empty() and q.waiting_puts == 0 and len(tracked) == 0


async def test_an_in_memory_value_put_while_suspended_still_waits_for_the_flow() -> None:
    q, flow = queue(active=False)
    put = asyncio.ensure_future(q.put("sent to a local channel"))
    await settle()
    assert not put.done() and q.waiting_puts == 1
    flow.resume()
    await asyncio.wait_for(put, 1)


async def test_resume_clears_stale_puts_instead_of_letting_them_in_afterwards() -> None:
    q, flow = queue(active=False)
    put = asyncio.ensure_future(q.put("from before the rebalance"))
    await settle()
    flow.resume()  # clears managed queues: the stale hand-over is dropped too
    await asyncio.wait_for(put, 1)
    await settle()
    assert q.empty()
    await q.put("after")
    assert q.get_nowait() == "after"


async def test_cancelling_the_writer_still_cancels_it() -> None:
    q, _ = queue(maxsize=1)
    await q.put("queued")
    put = asyncio.ensure_future(q.put("waiting"))
    await settle()
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await put
    assert q.waiting_puts == 0 and q.qsize() == 1


def test_the_app_builds_its_stream_buffers_from_it() -> None:
    buffer = app.FlowControlQueue(maxsize=4, clear_on_resume=True)
    assert isinstance(buffer, ClearableQueue) and buffer.maxsize == 4
