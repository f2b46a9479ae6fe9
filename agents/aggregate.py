"""Agent ``aggregate`` and the window closer: ``logs.events`` -> windows -> closed windows.

The agent folds each batch of ``logs.events`` messages in pure Python, per partition
(``app.core.windows.book.fold_messages``), and writes each touched table key once. The
closer runs on a timer: for every partition this worker owns it computes the watermark
(largest event time minus grace, advancing with the wall clock once the partition is
idle), and closes what the watermark passed — upsert to MongoDB ``window_stats``, a
message on ``windows.closed`` (keyed by service; ``_id`` identifies the window), the
dashboard cache in Redis — then drops the windows from the table. Faust's own
``on_window_close`` is not used: it runs on wall-clock time and never fires for windows
restored from a changelog.

Exactly-once emission: a graceful rebalance waits for an emission in progress before
the partitions move (``_hold_closes``), so a window is closed by exactly one worker.
After a crash, windows between ``closed`` and ``emitted`` are emitted again, identical
(MongoDB replaces; consumers of ``windows.closed`` dedupe by ``_id``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from agents.batches import acked_batches
from agents.publish import publish
from app.adapters.retrying import until_done
from app.adapters.window_cache import RedisWindowCache
from app.adapters.window_store import MongoWindowStore
from app.core.errors import ProcessorError
from app.core.eventbatch import decode_fold_batch
from app.core.windows.book import ClosePlan, OpenWindow, ServiceSeen, close_plan, fold_messages
from app.core.windows.stats import FoldEvent, WindowKey, WindowStats, window_start
from app.core.windows.watermark import Watermarks
from app.faust_app import app, events_topic, settings, windows_closed_topic
from app.metrics import (
    RECORDS_IN,
    WINDOW_EVENTS_SKIPPED,
    WINDOW_WATERMARK_LAG,
    WINDOWS_CLOSED,
    WINDOWS_OPEN,
)
from tables.windows import WindowBook, book, writing_to

log = logging.getLogger(__name__)
STAGE = "aggregate"
Messages = list[tuple[int, list[FoldEvent]]]


@dataclass
class Closer:
    """The worker's in-memory side of window closing (watermarks are rebuilt on start)."""

    watermarks: Watermarks
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    held: bool = False
    store: MongoWindowStore | None = None
    cache: RedisWindowCache | None = None


w = settings.windows
CLOSER = Closer(Watermarks(w.grace_s, w.idle_after_s))


def by_partition(batch: Iterable[Any]) -> dict[int, Messages]:
    """Decoded ``(offset, events)`` per partition, in offset order; only the fields the
    window fold reads are decoded (``decode_fold_batch``).

    A message that does not decode is skipped here; the ``index`` agent reads the same
    message and sends it to the dead-letter topic, once.
    """
    out: dict[int, Messages] = {}
    for event in batch:
        msg = event.message
        try:
            docs = decode_fold_batch(event.value or b"")
        except ProcessorError:
            WINDOW_EVENTS_SKIPPED.labels("undecodable").inc()
            continue
        out.setdefault(msg.partition, []).append((msg.offset, docs))
    for messages in out.values():
        messages.sort(key=lambda m: m[0])
    return out


def fold_partition(wbook: WindowBook, partition: int, messages: Messages, now: float) -> int:
    """Fold one partition's messages into the table; returns the events folded."""
    sizes, routes = w.service_sizes_s, w.route_sizes_s
    mark = wbook.mark(partition)
    loaded: dict[WindowKey, OpenWindow | None] = {}

    def floor(key: WindowKey) -> dict[str, int]:
        window = loaded[key] = wbook.window(key)
        return {} if window is None else window.seen

    fold = fold_messages(messages, mark, floor, service_sizes=sizes, route_sizes=routes)
    smallest = sizes[0]
    with writing_to(partition):
        for key, partial in fold.partials.items():
            window = loaded.get(key)
            if window is None:
                window = OpenWindow(partition, fold.seen[key], partial)
            else:
                window.absorb(partial, fold.seen[key])
            wbook.put_window(key, window)
        for service, (first, last) in fold.services.items():
            seen = wbook.service(service)
            if seen is None:
                wbook.put_service(service, ServiceSeen(partition, first, last))
            elif first < seen.first or (
                    window_start(last, smallest) > window_start(seen.last, smallest)):
                wbook.put_service(service, ServiceSeen(
                    seen.partition, min(first, seen.first), max(last, seen.last)))
        if fold.max_event is not None and fold.max_event != mark.max_event:
            mark.max_event = fold.max_event
            wbook.put_mark(mark)
    if fold.max_event is not None:
        CLOSER.watermarks.observe(partition, fold.max_event, now)
    if fold.late:
        WINDOW_EVENTS_SKIPPED.labels("late").inc(fold.late)
        log.info("windows: partition %d: %d late (closed through %s)", partition, fold.late,
                 mark.closed)
    if fold.replayed:
        WINDOW_EVENTS_SKIPPED.labels("replayed").inc(fold.replayed)
    return fold.events


@app.agent(events_topic, name="aggregate")
async def aggregate(stream: Any) -> None:
    async for batch in acked_batches(stream, w.batch_size, w.batch_wait_s):
        now = time.time()
        for partition, messages in by_partition(batch).items():
            RECORDS_IN.labels(STAGE).inc(fold_partition(book, partition, messages, now))


# -- closing -------------------------------------------------------------------------

def owned_partitions() -> set[int]:
    topic = settings.topics.events
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def closing_allowed() -> bool:
    return not (CLOSER.held or app.rebalancing or app.in_recovery)


@app.timer(w.close_interval_s)  # type: ignore[untyped-decorator]  # faust types it loosely
async def close_windows() -> None:
    if not closing_allowed():
        return
    try:
        await close_due(book, time.time())
    except Exception:  # never let the timer die; the next tick retries
        log.exception("closing windows failed; retrying on the next tick")


async def close_due(wbook: WindowBook, now: float) -> int:
    """Close every window due on the owned partitions; returns how many were emitted.

    Scan, plan, phase 1 and reading the final stats run without an ``await`` in
    between, so the agent cannot slip an event into a window between the scan and the
    moment its partition's ``closed`` mark rises.
    """
    async with CLOSER.lock:
        owned = owned_partitions()
        if not owned or not closing_allowed():
            return 0
        windows, services = wbook.scan(owned)
        WINDOWS_OPEN.set(sum(len(keys) for keys in windows.values()))
        plans: dict[int, ClosePlan] = {}
        docs: list[dict[str, Any]] = []
        for partition in sorted(owned):
            plan = plan_partition(wbook, partition, windows[partition], services[partition], now)
            if plan:
                plans[partition] = plan
                docs += start_closing(wbook, partition, plan)
        await emit(docs, now)
        still_owned = owned_partitions()
        for partition, plan in plans.items():
            # a partition revoked meanwhile (only without a graceful hand-over) is left
            # to its new owner, which emits the same windows again, identical
            if partition in still_owned:
                finish_closing(wbook, partition, plan)
        return len(docs)


def plan_partition(wbook: WindowBook, partition: int, windows: list[WindowKey],
                   services: dict[str, ServiceSeen], now: float) -> ClosePlan | None:
    mark = wbook.mark(partition)
    if mark.max_event is None:
        return None
    marks = CLOSER.watermarks
    if partition not in marks.max_event:  # new here: a restart or a rebalance
        marks.observe(partition, mark.max_event, now)
    watermark = marks.watermark(partition, now)
    if watermark is None:
        return None
    WINDOW_WATERMARK_LAG.labels(str(partition)).set(max(0.0, now - watermark))
    return close_plan(mark, watermark, windows, services, service_sizes=w.service_sizes_s,
                      silent_after_s=w.silent_after_s)


def start_closing(wbook: WindowBook, partition: int, plan: ClosePlan) -> list[dict[str, Any]]:
    """Phase 1: raise ``closed`` (the windows take no more events); their final stats."""
    mark = wbook.mark(partition)
    log.info("windows: partition %d closes through %.0f (largest event time %.0f): "
             "%d windows, %d empty", partition, plan.closed, mark.max_event or 0,
             len(plan.closing), len(plan.empty))
    with writing_to(partition):
        mark.closed = plan.closed
        wbook.put_mark(mark)
    docs = []
    for key in plan.closing:
        window = wbook.window(key)
        if window is not None:
            docs.append(window.stats.final(key))
    docs += [WindowStats().final(key) for key in plan.empty]
    return docs


def finish_closing(wbook: WindowBook, partition: int, plan: ClosePlan) -> None:
    """Phase 2: the windows are out; drop them, forget silent services, raise ``emitted``."""
    mark = wbook.mark(partition)
    with writing_to(partition):
        for key in plan.closing:
            wbook.drop_window(key)
        for service in plan.forget:
            wbook.forget_service(service)
        mark.emitted = plan.closed
        wbook.put_mark(mark)
    WINDOWS_CLOSED.labels("data").inc(len(plan.closing))
    WINDOWS_CLOSED.labels("empty").inc(len(plan.empty))


async def emit(docs: list[dict[str, Any]], now: float) -> None:
    """MongoDB (retried until it succeeds), ``windows.closed`` (acknowledged), Redis."""
    if not docs:
        return
    store, cache = sinks()
    await until_done(lambda: store.upsert(docs), retry_on=PyMongoError,
                     what="window_stats upsert", max_backoff_s=settings.mongo.max_backoff_s,
                     log=log)
    await publish([(windows_closed_topic, str(doc["service"]).encode(), orjson.dumps(doc))
                   for doc in docs], what="windows.closed")
    try:
        await cache.put(docs)
    except (RedisError, OSError) as exc:  # a cache: the dashboard falls back to MongoDB
        log.warning("window cache update failed: %s", exc)


def sinks() -> tuple[MongoWindowStore, RedisWindowCache]:
    if CLOSER.store is None:
        CLOSER.store = MongoWindowStore(settings.mongo.url, settings.mongo.database,
                                        retention_s=w.retention_s)
    if CLOSER.cache is None:
        CLOSER.cache = RedisWindowCache(settings.redis.url, ttl_s=settings.redis.window_ttl_s,
                                        keep=settings.redis.recent_windows)
    return CLOSER.store, CLOSER.cache


@app.task  # type: ignore[untyped-decorator]
async def prepare_window_store() -> None:
    store, _ = sinks()
    attempt = 0
    while True:
        try:
            await store.ensure_indexes()
            return
        except PyMongoError as exc:
            attempt += 1
            log.warning("window_stats indexes not ready (attempt %d): %s", attempt, exc)
            await asyncio.sleep(min(30.0, 0.5 * attempt))


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _hold_closes(sender: Any, *args: Any, **kwargs: Any) -> None:
    """A rebalance waits for an emission in progress, so no window is closed twice."""
    CLOSER.held = True
    try:
        async with CLOSER.lock:
            await app.producer.flush()
    finally:
        CLOSER.held = False


@app.on_before_shutdown.connect  # type: ignore[arg-type]
async def _close_sinks(sender: Any, *args: Any, **kwargs: Any) -> None:
    CLOSER.held = True
    async with CLOSER.lock:
        if CLOSER.store is not None:
            await CLOSER.store.close()
            CLOSER.store = None
        if CLOSER.cache is not None:
            await CLOSER.cache.close()
            CLOSER.cache = None
