"""Stream buffers whose waiting writers give up when a rebalance clears them.

Faust's conductor hands each Kafka message to every stream subscribed to its topic.
When a stream's buffer (``stream_buffer_maxsize``) is full, the hand-over becomes a
background ``put`` that waits for room. A rebalance then suspends the flow, clears
the buffers and waits (``Consumer.wait_empty``) until every message handed out has
been acknowledged or dropped. A waiting ``put`` is neither: it blocks on the
suspended flow (or on a cleared queue no reader will wake) while holding the message,
so the message's last reference is never released and ``wait_empty`` waits forever:
"wait_empty: Waiting for tasks [(1, <ConsumerMessage ...>)]", heartbeats fail and
the member is expelled (faust-streaming issue #133, robinhood/faust #402; seen in
``tests/e2e/test_faults.py::test_scale_out_and_in_mid_stream``).

``ClearableQueue`` makes a ``put`` that is waiting when the buffer is cleared behave
as if it had gone in just before the clear: it returns, the message is dropped with
the rest of the buffer, unacknowledged, and Kafka redelivers it after the rebalance
(from the committed offset, which never passes an unacknowledged message). A ``put``
of a Kafka event that starts while the flow is suspended — after the clear, which
nothing would repeat before the flow resumes — is dropped the same way at once (the
scale-out test hung on one: "wait_empty: Waiting for tasks [(1, <ConsumerMessage
...logs.events...>)]" until the member was expelled).

Every Kafka event the queue drops that way — buffered when the buffer is cleared, or
handed over and dropped — is let go of as unprocessed (``let_go_unprocessed``): the
conductor counted one reference per stream it handed the message to, and a dropped
copy is a stream that will never acknowledge it. Dropping the copy alone left that
reference: once the other streams were done with the message, ``wait_empty`` waited
for it as long as anything referred to it, and Faust's drain loop keeps its last
message in a local variable while the flow is suspended (the scale-out test hung that
way, with logwarden's ``getmany`` parse stage keeping ``logs.events`` busy through
the rebalance). Let go of as unprocessed, the message's offset never becomes
committable, so it is delivered again after the rebalance.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mode.utils.queues import ThrowableQueue

from app.rebalance_acks import let_go_unprocessed


class ClearableQueue(ThrowableQueue):  # type: ignore[type-arg]  # mode's queue is generic
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: set[asyncio.Future[None]] = set()
        self._cleared: set[asyncio.Future[None]] = set()

    async def put(self, value: Any) -> None:
        if self._flow_control.is_active():
            if not self.full():
                await super().put(value)  # goes straight in: nothing to wait for
                return
        elif _from_kafka(value):
            # suspended, and maybe cleared already (the conductor's background put for
            # a full buffer can start after the clear): nothing would let it go before
            # the flow resumes, which waits for it. A stream would skip it anyway.
            let_go_unprocessed(value)
            return
        waiter = asyncio.ensure_future(super().put(value))
        self._waiting.add(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self._cleared:
                _drop(value)  # dropped by clear(), as the buffered values were
                return
            raise
        finally:
            self._waiting.discard(waiter)
            self._cleared.discard(waiter)

    def clear(self) -> None:
        dropped = list(self._queue)  # type: ignore[attr-defined]  # asyncio.Queue's deque
        super().clear()
        for value in dropped:
            _drop(value)
        for waiter in self._waiting:
            if not waiter.done():
                self._cleared.add(waiter)
                waiter.cancel()

    @property
    def waiting_puts(self) -> int:
        return len(self._waiting)


def _drop(value: Any) -> None:
    """A value the queue will not hand out: a Kafka event's stream lets go of it."""
    if _from_kafka(value):
        let_go_unprocessed(value)


def _from_kafka(value: Any) -> bool:
    """Whether ``value`` is an event of a Kafka message (redelivered from the committed
    offset if dropped), not a value sent to an in-memory channel."""
    return getattr(getattr(value, "message", None), "tp", None) is not None

