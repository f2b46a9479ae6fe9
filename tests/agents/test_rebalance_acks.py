"""Acknowledgements that mean "processed" (app/rebalance_acks.py), on Faust's own
message, event and consumer objects: a skipped event during a rebalance, or one from
an older consumer generation, must never make its offset committable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from agents.batches import acked_batches
from app.rebalance_acks import GuardedEvent, forget_partitions, processed_acks, unprocessed

TOPIC = "lw-test.logs.events"
TP0 = TP(TOPIC, 0)


@pytest.fixture()
def flow(fapp: Any) -> Iterator[Any]:
    generation = fapp.consumer_generation_id
    fapp.consumer_generation_id = 7
    fapp.flow_control.resume()
    fapp.topics._acking_topics.add(TOPIC)
    yield fapp
    fapp.topics._acking_topics.discard(TOPIC)
    fapp.flow_control.resume()
    fapp.consumer_generation_id = generation
    forget_partitions(fapp.consumer, [TP0])


def committable(app: Any, message: ConsumerMessage) -> bool:
    """Whether the consumer counts the message's offset as safe to commit."""
    return message.offset in app.consumer._acked[message.tp]


def waited_for(app: Any, message: ConsumerMessage) -> bool:
    """Whether Consumer.wait_empty still waits for the message."""
    return message in app.consumer.unacked


def delivered(app: Any, offset: int = 10, *, streams: int = 1,
              generation: int = 7) -> tuple[ConsumerMessage, list[Any]]:
    """A message handed to ``streams`` streams, as Faust's conductor does it."""
    message = ConsumerMessage(TOPIC, 0, offset, 0.0, 0, [], b"k", b"[]", None, tp=TP0,
                              generation_id=generation)
    message.incref(streams)
    app.consumer.track_message(message)
    return message, [app.create_event(b"k", b"[]", [], message) for _ in range(streams)]


def test_the_app_creates_guarded_events(flow: Any) -> None:
    _, events = delivered(flow)
    assert isinstance(events[0], GuardedEvent)


def test_an_ack_in_the_current_generation_with_the_flow_running_counts(flow: Any) -> None:
    message, (event,) = delivered(flow)
    event.ack()
    assert committable(flow, message) and not waited_for(flow, message)


def test_faust_skipping_an_event_during_a_rebalance_does_not_acknowledge_it(flow: Any) -> None:
    message, (event,) = delivered(flow)
    flow.flow_control.suspend()  # what _on_partitions_revoked and a stop do first
    assert event.ack() is False
    assert unprocessed(message) and not committable(flow, message)
    # the stream let go of it: the rebalance does not wait for it
    assert not waited_for(flow, message)


def test_an_agent_finishing_its_batch_during_a_rebalance_still_commits_it(flow: Any) -> None:
    message, (event,) = delivered(flow)
    flow.flow_control.suspend()
    with processed_acks():
        event.ack()
    assert committable(flow, message)


def test_an_event_from_an_older_generation_is_never_acknowledged(flow: Any) -> None:
    message, (event,) = delivered(flow, generation=6)
    with processed_acks():
        assert event.ack() is False
    assert not committable(flow, message) and not waited_for(flow, message)


def test_one_stream_skipping_keeps_the_message_uncommitted_whatever_the_others_do(
        flow: Any) -> None:
    message, (index, aggregate) = delivered(flow, streams=2)
    flow.flow_control.suspend()
    index.ack()  # index's copy was skipped: it never reached Elasticsearch
    assert waited_for(flow, message)  # aggregate is still working on it
    with processed_acks():
        aggregate.ack()
    assert not committable(flow, message) and not waited_for(flow, message)


def test_processed_acks_only_lasts_for_its_block(flow: Any) -> None:
    message, (event,) = delivered(flow)
    with processed_acks():
        pass
    flow.flow_control.suspend()
    assert event.ack() is False and not committable(flow, message)


async def test_acked_batches_acknowledges_as_processed(flow: Any) -> None:
    message, (event,) = delivered(flow)

    class Stream:
        async def noack_take(self, max_: int, within: float) -> Any:
            yield [event]
            flow.flow_control.suspend()  # a rebalance starts while the batch is in flight
            yield []

        async def ack(self, e: Any) -> bool:
            return bool(e.ack())

    batches = acked_batches(Stream(), 10, 0.1)
    assert await batches.__anext__() == [event]
    assert await batches.__anext__() == []  # asking for the next one acks the first
    assert committable(flow, message)


def test_forget_partitions_drops_what_was_acknowledged_before(flow: Any) -> None:
    consumer = flow.consumer
    kept, regained = TP(TOPIC, 1), TP(TOPIC, 2)
    for tp in (kept, regained):
        consumer._acked[tp].extend([5, 6])
        consumer._acked_index[tp].update({5, 6})
        consumer._gap[tp].addi(3, 5)
    forget_partitions(consumer, {regained})
    assert regained not in consumer._acked and regained not in consumer._acked_index
    assert regained not in consumer._gap
    assert consumer._acked[kept] == [5, 6]
    forget_partitions(consumer, {kept})


async def test_a_stream_skipping_a_message_during_a_rebalance_lets_go_of_it(flow: Any) -> None:
    """Through a real stream iterator: the Cython one skipped without acknowledging, so
    the message stayed referenced and ``wait_empty`` waited for it until the member
    was expelled; the app makes streams iterate in Python (use_python_stream_iterator)."""
    import asyncio

    message, (event,) = delivered(flow)
    channel = flow.channel()
    stream = flow.stream(channel)
    it = stream.__aiter__()
    assert it.ag_code.co_name == "_py_aiter"
    flow.flow_control.suspend()
    stream.channel.queue.force_put_nowait(event)  # handed over before the suspension
    nxt = asyncio.ensure_future(it.__anext__())
    try:
        for _ in range(100):  # the stream starts first (bounded: 1 s)
            await asyncio.sleep(0.01)
            if not waited_for(flow, message):
                break
        assert not nxt.done()  # skipped, not yielded to the agent
        assert not waited_for(flow, message) and unprocessed(message)
        assert not committable(flow, message)
    finally:
        nxt.cancel()
        await asyncio.gather(nxt, return_exceptions=True)
        await stream.stop()


def buffer(app: Any, maxsize: int = 4) -> Any:
    """A stream's buffer as the app builds it (``ClearableQueue``, the app's flow)."""
    return app.FlowControlQueue(maxsize=maxsize, clear_on_resume=True)


async def test_a_copy_cleared_from_a_buffer_lets_go_of_the_message(flow: Any) -> None:
    """The index agent took and processed its copy; the aggregate agent's copy was still
    in its buffer when the rebalance cleared it. The message must neither stay waited
    for (the drain loop still refers to it: ``message`` here) nor become committable."""
    message, (index, aggregate) = delivered(flow, streams=2)
    queue = buffer(flow)
    await queue.put(aggregate)
    with processed_acks():
        index.ack()
    assert waited_for(flow, message)
    flow.flow_control.suspend()
    flow.flow_control.clear()  # Faust's _on_partitions_revoked
    assert queue.empty()
    assert not waited_for(flow, message) and unprocessed(message)
    assert not committable(flow, message)


async def test_a_cleared_copy_leaves_the_message_to_the_stream_still_processing_it(
        flow: Any) -> None:
    message, (index, aggregate) = delivered(flow, streams=2)
    queue = buffer(flow)
    await queue.put(index)
    flow.flow_control.suspend()
    flow.flow_control.clear()
    assert waited_for(flow, message)  # the aggregate agent is still folding it
    with processed_acks():
        aggregate.ack()  # its batch done: processed, but the index agent never saw it
    assert not waited_for(flow, message) and not committable(flow, message)


async def test_a_waiting_hand_over_cleared_lets_go_of_the_message(flow: Any) -> None:
    import asyncio

    message, (index, aggregate) = delivered(flow, offset=11, streams=2)
    _, (filler,) = delivered(flow, offset=12)
    queue = buffer(flow, maxsize=1)
    await queue.put(filler)
    put = asyncio.ensure_future(queue.put(aggregate))  # the buffer is full: it waits
    await asyncio.sleep(0)
    with processed_acks():
        index.ack()
    flow.flow_control.suspend()
    flow.flow_control.clear()
    await asyncio.wait_for(put, 1)
    assert not waited_for(flow, message) and not committable(flow, message)


async def test_a_hand_over_during_the_suspension_lets_go_of_the_message(flow: Any) -> None:
    message, (index, aggregate) = delivered(flow, streams=2)
    queue = buffer(flow, maxsize=1)
    _, (filler,) = delivered(flow, offset=12)
    await queue.put(filler)
    with processed_acks():
        index.ack()
    flow.flow_control.suspend()
    flow.flow_control.clear()
    await queue.put(aggregate)  # the conductor's background put, after the clear
    assert queue.empty()
    assert not waited_for(flow, message) and not committable(flow, message)


async def test_an_event_that_got_through_is_not_let_go_of_by_a_later_clear(flow: Any) -> None:
    message, (event,) = delivered(flow)
    queue = buffer(flow)
    await queue.put(event)
    assert queue.get_nowait() is event  # the stream took it before the rebalance
    flow.flow_control.suspend()
    flow.flow_control.clear()
    assert waited_for(flow, message)
    with processed_acks():
        event.ack()
    assert committable(flow, message) and not waited_for(flow, message)
