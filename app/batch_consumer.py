"""A topic read in batches with aiokafka's ``getmany``, outside Faust's streams.

Faust hands every Kafka message to an agent through its conductor, stream iterator and
acknowledgements: tens of microseconds per message, whatever the message holds. For a
topic whose producers send one log record per message (Vector, Fluent Bit or Filebeat
through their Kafka outputs) that is most of the worker's time per event
(bench/RESULTS.md, session 10). The parse stage reads ``logs.raw`` with this instead:

* its own consumer group (``<worker.app_id>-parse``): Faust's group uses Faust's
  partition assignor, which a plain aiokafka member cannot join;
* ``getmany`` returns what the fetcher holds, at most ``max_records``; it is handed to
  the handler in chunks that end once their values add up to ``max_bytes``;
* offsets are committed only after the handler returned for a chunk (the parse stage
  returns once Kafka acknowledged what it published), so a crash or a stop redelivers
  what was not finished, never skips it; downstream is idempotent (DESIGN.md §5);
* a rebalance waits, in ``on_partitions_revoked``, until the chunk being handled is
  done and committed; records of partitions that left this member meanwhile are not
  handed out (their new owner reads them from the committed offset).

A failed commit (a rebalance in between, the broker restarting) is logged and left:
the records are delivered again, to this member or another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

Handler = Callable[[list[Any]], Awaitable[None]]  # a chunk of aiokafka ConsumerRecords

#: the batch consumers running in this process (``web.metrics`` reads their lag)
RUNNING: list[BatchConsumer] = []


def chunks(records: Sequence[Any], max_bytes: int) -> Iterator[list[Any]]:
    """``records`` in order, cut after the record that brings a chunk's values to
    ``max_bytes`` (a single larger record is a chunk of its own)."""
    chunk: list[Any] = []
    size = 0
    for record in records:
        chunk.append(record)
        size += len(record.value or b"")
        if size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._owner.lock:  # the chunk being handled is done and committed
            self._owner.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        # their committed offsets are read by the run loop (lag), not in here
        self._owner.assigned = frozenset(assigned)


class BatchConsumer:
    def __init__(self, *, bootstrap_servers: str, topic: str, group_id: str,
                 max_records: int, max_bytes: int, wait_s: float, fetch_max_wait_ms: int,
                 observe: Callable[[float], None] | None = None,
                 retry_after_s: float = 5.0,
                 wait_ready: Callable[[], Awaitable[None]] | None = None) -> None:
        self.topic, self.group_id = topic, group_id
        self.max_records, self.max_bytes = max_records, max_bytes
        self.wait_ms = max(1, int(wait_s * 1000))
        #: called with each record's seconds from fetch to commit (a latency histogram)
        self.observe = observe
        self.retry_after_s = retry_after_s  # after a handler failure
        #: awaited before each chunk, outside the lock (the parse stage: until the
        #: worker's Faust consumer is not rebalancing)
        self.wait_ready = wait_ready
        self.committed: dict[TopicPartition, int] = {}  # of the assigned partitions
        self._known: set[TopicPartition] = set()  # whose committed offset was asked for
        #: the partitions of the current assignment: empty from a revocation until the
        #: next assignment (aiokafka's ``assignment()`` still lists them in between)
        self.assigned: frozenset[TopicPartition] = frozenset()
        self._revocations = 0
        self.lock = asyncio.Lock()  # held while a chunk is handled and committed
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms)

    async def run(self, handle: Handler) -> None:
        """Hand chunks to ``handle`` and commit after each, until cancelled."""
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        await self.consumer.start()
        RUNNING.append(self)
        rewind = False
        try:
            while True:
                try:
                    if rewind:  # until it succeeded: nothing past a failed chunk is read
                        await self._rewind()
                        rewind = False
                    await self._step(handle)
                except Exception:  # a handler bug, a broker error: never the loop's end
                    log.exception("%s: handling a batch failed; reading again from the "
                                  "committed offsets in %.1f s", self.group_id,
                                  self.retry_after_s)
                    rewind = True
                    await asyncio.sleep(self.retry_after_s)
        finally:
            RUNNING.remove(self)
            await self.consumer.stop()  # leaves the group: its partitions move at once

    async def _step(self, handle: Handler) -> None:
        fetched = await self.consumer.getmany(timeout_ms=self.wait_ms,
                                              max_records=self.max_records)
        revocations = self._revocations  # of the assignment these came from
        unknown = self.assigned - self._known
        if unknown:
            await self.read_committed(unknown)
        if fetched:
            await self._hand_out(fetched, handle, revocations)

    async def _hand_out(self, fetched: dict[TopicPartition, list[Any]], handle: Handler,
                        revocations: int) -> None:
        started = time.monotonic()
        records = [record for batch in fetched.values() for record in batch]
        for chunk in chunks(records, self.max_bytes):
            if self.wait_ready is not None:
                await self.wait_ready()
            async with self.lock:
                if self._revocations != revocations:
                    return  # a rebalance came in between: the owners fetch the rest again
                assigned = self.assigned  # TopicPartitions: named tuples
                mine = [r for r in chunk if (r.topic, r.partition) in assigned]
                if not mine:
                    continue
                await handle(mine)
                await self._commit(mine)
            if self.observe is not None:
                elapsed = time.monotonic() - started
                for _ in mine:
                    self.observe(elapsed)

    async def _rewind(self) -> None:
        """Fetch every assigned partition again from its committed offset, or from its
        beginning when it has none (``auto_offset_reset``; aiokafka's
        ``seek_to_committed`` leaves such a partition where it is)."""
        for tp in self.assigned:
            offset = await self.consumer.committed(tp)
            if offset is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)

    async def _commit(self, records: list[Any]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for record in records:  # in offset order per partition
            offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("%s: committing %s failed (delivered again later): %r",
                        self.group_id, offsets, exc)
            return
        self.committed.update(offsets)

    async def read_committed(self, partitions: Any) -> None:
        """Note the group's committed offsets of newly assigned ``partitions`` (lag)."""
        for tp in partitions:
            self._known.add(tp)
            try:
                offset = await self.consumer.committed(tp)
            except KafkaError as exc:
                log.debug("%s: committed offset of %s unknown: %r", self.group_id, tp, exc)
                continue
            if offset is not None:
                self.committed[tp] = offset

    def revoked(self, partitions: Any) -> None:
        self._revocations += 1
        self.assigned = frozenset()
        for tp in partitions:
            self._known.discard(tp)
            self.committed.pop(tp, None)

    def lags(self) -> list[tuple[int, int]]:
        """``(partition, log end offset - committed offset)`` of the assigned partitions
        whose end the fetcher has seen."""
        out = []
        for tp in sorted(self.assigned):
            end = self.consumer.highwater(tp)
            if end is None:
                continue
            out.append((tp.partition, max(0, end - self.committed.get(tp, 0))))
        return out
