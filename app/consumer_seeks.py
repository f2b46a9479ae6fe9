"""No record fetched before a seek is delivered after it.

After a rebalance Faust resumes the flow and only then seeks the stream partitions back
to their committed offsets (``Recovery``: "Resuming flow..." then "Seek stream
partitions to committed offsets"). While ``Consumer.perform_seek`` waits for the broker
to return those offsets, the drain loop (``Consumer._drain_messages``) goes on handing
out a batch it fetched from the old positions. ``perform_seek`` then sets each
partition's read offset back to the committed one, and the next record of that stale
batch looks to the drain loop like a jump over missing offsets: it records the offsets
in between as a *gap*, which Faust's commit counts as acknowledged (``_add_gap`` is
meant for compacted topics and transaction markers). The records the seek fetches
again start below the read offset the stale batch left behind, so they are dropped
("DROPPED MESSAGE ROFF"). The offsets in the gap can then be committed without ever
having been processed: the scale-out fault test lost a contiguous run of 14-23
messages per partition that way, about one run in five.

``guard_seeks`` counts finished seeks. A batch the fetcher returned before a seek
finished stops being delivered as soon as it has (one it returns afterwards is from
the new positions and is delivered: dropping it would skip it for good); the record
of it that may still be handed out adds no gap, and if the drain loop recorded it as
read after the seek had set the read offsets, the read offset is put back to where
the seek left it. The records are fetched again from the committed offset: delivered
twice at worst, which the sinks absorb (deterministic ids, upserts that set values).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any


class _Seeks:
    def __init__(self) -> None:
        self.finished = 0  # seeks whose read offsets are in place
        self.read_offsets: dict[Any, int | None] = {}  # as the last one set them
        self.delivering = 0  # ``finished`` when the batch being delivered came back

    @property
    def stale(self) -> bool:
        """Whether a seek finished since the batch being delivered was fetched."""
        return self.finished != self.delivering


def guard_seeks(consumer: Any) -> Any:
    """Wrap ``consumer.perform_seek`` and ``consumer.getmany`` (the drain loop looks
    both up on the instance) so that a seek cuts short the batch being delivered."""
    seeks = _Seeks()
    perform_seek: Callable[[], Awaitable[None]] = consumer.perform_seek
    getmany: Callable[[float], AsyncGenerator[tuple[Any, Any], None]] = consumer.getmany
    wait_next_records: Callable[[float], Awaitable[Any]] = consumer._wait_next_records
    add_gap: Callable[[Any, int, int], Awaitable[None]] = consumer._add_gap
    read_offset: dict[Any, int | None] = consumer._read_offset

    async def guarded_perform_seek() -> None:
        await perform_seek()
        seeks.read_offsets = dict(read_offset)
        seeks.finished += 1

    async def guarded_wait_next_records(timeout: float) -> Any:
        records = await wait_next_records(timeout)
        # from the positions of the last seek that had finished by now: a seek moves
        # the positions and sets the read offsets in one step (no await in between),
        # and records the client fetched from the old positions are discarded there
        seeks.delivering = seeks.finished
        return records

    async def guarded_getmany(timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        async with aclosing(getmany(timeout)) as records:
            async for tp, message in records:
                if seeks.stale:
                    return  # fetched from positions a seek has since moved
                yield tp, message
                # the drain loop has just set the read offset of ``tp`` to this record's
                if seeks.stale:
                    if tp in seeks.read_offsets:  # ... over the one the seek set
                        read_offset[tp] = seeks.read_offsets[tp]
                    return

    async def guarded_add_gap(tp: Any, offset_from: int, offset_to: int) -> None:
        # the last record handed out may be one of a stale batch (the drain loop can
        # rest between taking it and comparing it with the read offset): the distance
        # from the offset the seek set is then not a hole in the log
        if not seeks.stale:
            await add_gap(tp, offset_from, offset_to)

    consumer.perform_seek = guarded_perform_seek
    consumer.getmany = guarded_getmany
    consumer._wait_next_records = guarded_wait_next_records
    consumer._add_gap = guarded_add_gap
    return consumer
