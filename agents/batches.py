"""Batches of Kafka events that are acknowledged only once the agent has processed them.

Faust's ``stream.take_events`` acknowledges a batch in a ``finally`` around its
``yield``: when the agent is cancelled mid-batch (a graceful stop, a rebalance), the
generator is closed and the batch is acknowledged anyway, so the offsets committed on
the way out include events that were never written. The scale-out fault test lost a
bulk of documents that way. Here the batch comes from ``stream.noack_take`` (Faust acks
nothing) and is acknowledged after the agent asks for the next one — that is, after its
loop body finished. A body that raises or is cancelled leaves the batch unacknowledged:
it is delivered again, and the sinks are idempotent.

A batch ends at ``max_`` events or after ``within`` seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from app.rebalance_acks import processed_acks


async def acked_batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """``async for batch in acked_batches(stream, n, within=s)``: lists of Faust events."""
    async for batch in stream.noack_take(max_, within):
        events = list(batch)
        yield events
        # reached only when the caller asks for the next batch: this one is done
        with processed_acks():  # counts during a rebalance too (app/rebalance_acks.py)
            for event in events:
                await stream.ack(event)
        events.clear()  # the caller's loop variable: let go of the events while waiting
        batch.clear()  # ours (a fresh list from noack_take): nothing holds a message now
