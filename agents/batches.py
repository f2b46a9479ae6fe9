"""Batches of Kafka events that are acknowledged only once the agent has processed them.

Faust's ``stream.take_events`` acknowledges a batch in a ``finally`` around its
``yield``: when the agent is cancelled mid-batch (a graceful stop, a rebalance), the
generator is closed and the batch is acknowledged anyway, so the offsets committed on
the way out include events that were never written. The scale-out fault test lost a
bulk of documents that way. Here the batch comes from ``stream.noack_take`` (Faust acks
nothing) and is acknowledged after the agent asks for the next one — that is, after its
loop body finished. A body that raises or is cancelled leaves the batch unacknowledged:
it is delivered again, and the sinks are idempotent.

A batch ends at ``max_`` events or after ``within`` seconds. With ``max_bytes`` it
also ends once its Kafka messages' values add up to that many bytes
(``bounded_take``): the parse agent's input holds single records of a few hundred
bytes as well as batches of up to ``ingest.gateway_batch_bytes``, so a count alone
either bounds its memory or lets single records travel in useful batches, not both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from mode.utils.futures import notify

from app.rebalance_acks import processed_acks


async def acked_batches(stream: Any, max_: int, within: float,
                        max_bytes: int | None = None) -> AsyncIterator[list[Any]]:
    """``async for batch in acked_batches(stream, n, within=s)``: lists of Faust events."""
    batches = (stream.noack_take(max_, within) if max_bytes is None
               else bounded_take(stream, max_, within, max_bytes))
    async for batch in batches:
        events = list(batch)
        yield events
        # reached only when the caller asks for the next batch: this one is done
        with processed_acks():  # counts during a rebalance too (app/rebalance_acks.py)
            for event in events:
                await stream.ack(event)
        events.clear()  # the caller's loop variable: let go of the events while waiting
        batch.clear()  # ours (a fresh list from noack_take): nothing holds a message now


async def bounded_take(stream: Any, max_: int, within: float,
                       max_bytes: int) -> AsyncIterator[list[Any]]:
    """Faust's ``Stream.noack_take`` (faust-streaming 0.15.3), with the batch also full
    once the values of its messages add up to ``max_bytes``.

    The same mechanism: a processor on the stream puts each event in the buffer and,
    when the buffer is full, waits until it was handed out; a passive drainer iterates
    the stream; acknowledgements are off (the caller acknowledges). Only the fullness
    test is new.
    """
    buffer: list[Any] = []
    size = 0
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    buffer_consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        nonlocal buffer_consuming, size
        try:
            if buffer_consuming is not None:  # the batch is being handed out
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("Take buffer found current_event is None")
            buffer.append(event)
            size += len(event.message.value or b"")
            if len(buffer) >= max_ or size >= max_bytes:
                buffer_full.set()
                buffer_consumed.clear()
                await stream.wait(buffer_consumed)  # never more than one batch held
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    acks = stream.enable_acks
    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(buffer_full, timeout=within)
            if buffer:
                buffer_consuming = stream.loop.create_future()
                try:
                    yield list(buffer)
                finally:
                    buffer.clear()
                    size = 0
                    notify(buffer_consuming)
                    buffer_full.clear()
                    buffer_consumed.set()
    finally:
        stream.enable_acks = acks
        stream._processors.remove(add_to_buffer)
