"""Acknowledgements that mean "processed", across rebalances and shutdowns.

Faust commits a partition up to the highest offset before which every message was
acknowledged by every stream that received it. Two of its own acknowledgements do not
mean the message was processed:

* a stream that takes an event while the flow is suspended (a rebalance or a stop is
  under way) or that was delivered before the last rebalance (an older consumer
  generation) *skips* it and acknowledges it anyway (``Stream._py_aiter``);
* the bookkeeping of a partition (acknowledged offsets, gaps) is dropped when it is
  revoked, but acknowledgements that arrive afterwards are recorded again and are
  still there if the partition comes back in a later generation, where they can carry
  the commit past messages nobody has processed in this one.

Either lets a commit pass events that never reached Elasticsearch or the windows: the
scale-out fault test lost 164-228 events that way, at a rebalance.

``GuardedEvent`` marks a message acknowledged in the first way as *unprocessed*; the
consumer (``guard_consumer``) then never makes its offset committable, so it is
delivered again from the committed offset after the rebalance. The message still
counts as let go of by that stream, so that ``Consumer.wait_empty`` finishes once
every stream is done with it. ``forget_partitions`` clears the second kind on
assignment, before the consumer seeks to the committed offsets. Agents acknowledge what
they processed inside ``processed_acks()``: those count while the flow is suspended
too, because a batch in flight when a rebalance starts must still commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakSet

import faust
import faust.streams as faust_streams
from mode.utils.futures import notify

_PROCESSED: ContextVar[bool] = ContextVar("logwarden_processed_ack", default=False)
#: Messages some stream let go of without processing them (never committable).
_UNPROCESSED: WeakSet[Any] = WeakSet()


@contextmanager
def processed_acks() -> Iterator[None]:
    """Acknowledgements made inside count even while a rebalance is under way."""
    token = _PROCESSED.set(True)
    try:
        yield
    finally:
        _PROCESSED.reset(token)


class GuardedEvent(faust.Event):
    """``faust.Event`` whose acknowledgements mark the message unprocessed when they
    do not mean processed."""

    def ack(self) -> bool:
        app, message = self.app, self.message
        if message.generation_id != app.consumer_generation_id or (
                not app.flow_control.is_active() and not _PROCESSED.get()):
            _UNPROCESSED.add(message)
        return bool(message.ack(app.consumer))


def use_python_stream_iterator() -> None:
    """Make every Faust stream iterate with ``Stream._py_aiter``, not the Cython one.

    The Cython iterator (``faust/_cython/streams.pyx``) skips a message taken while the
    flow is suspended without setting the stream's current event, so its ``after``
    step gets no event and never acknowledges it: the message keeps a reference count
    the stream will never drop, and ``Consumer.wait_empty`` (at a rebalance or a stop)
    waits for it as long as any other stream still holds an event of it — the
    scale-out fault test hung that way until the member was expelled, once in 5-10
    runs. It also inlines the acknowledgement, past ``GuardedEvent.ack``. The Python
    iterator acknowledges skipped messages through ``GuardedEvent.ack``. Its extra
    cost is per Kafka message, and the agents' messages carry many events each.
    """
    faust_streams._CStreamIterator = None  # type: ignore[attr-defined]


def unprocessed(message: Any) -> bool:
    return message in _UNPROCESSED


def let_go_unprocessed(event: Any) -> None:
    """A stream lets go of ``event`` without processing it: a rebalance cleared the
    stream's buffer (or dropped its hand-over) before the stream took it.

    Its message's reference count drops as if the stream had skipped it, and the
    message becomes unprocessed (never committable). Without this the dropped copy kept
    its reference for good: once every other stream was done with the message,
    ``Consumer.wait_empty`` waited for it as long as anything still referred to it (the
    drain loop keeps its last message in a local variable while the flow is
    suspended), and the member was expelled (app/stream_queues.py).
    """
    message = event.message
    _UNPROCESSED.add(message)
    message.ack(event.app.consumer)


def guard_consumer(consumer: Any) -> Any:
    """Make ``consumer.ack`` (the last stream letting go of a message) leave an
    unprocessed message's offset uncommittable, and stop waiting for it."""
    ack: Callable[[Any], bool] = consumer.ack

    def guarded_ack(message: Any) -> bool:
        if message not in _UNPROCESSED:
            return ack(message)
        message.acked = True  # every stream let go of it; nothing acknowledges it again
        consumer.unacked.discard(message)
        notify(consumer._waiting_for_ack)
        return False

    consumer.ack = guarded_ack
    return consumer


def forget_partitions(consumer: Any, partitions: Iterable[Any]) -> None:
    """Drop what ``consumer`` remembers of acknowledged offsets and gaps of
    ``partitions``: they restart from the committed offsets (``perform_seek``)."""
    for tp in partitions:
        consumer._acked.pop(tp, None)
        consumer._acked_index.pop(tp, None)
        consumer._gap.pop(tp, None)
