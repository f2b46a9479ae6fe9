"""Retention: delete expired Elasticsearch daily indices and expired MongoDB windows.

A Faust timer ticks every ``TICK_S`` (a minute). The job runs on the first tick after
start and then every ``INTERVAL_S`` (an hour); a run that failed, in whole or in part,
is retried at the next tick. Errors are logged and counted, never raised into the
worker.

Only the worker that owns partition 0 of ``logs.events`` runs it. During a rebalance two
workers may both believe they own it; that is harmless, because both deletes are
idempotent: the indices to delete are chosen by the date in their name
(``ElasticsearchSink.delete_expired``) and the windows by their end time
(``MongoWindowStore.delete_older_than``), so a second run finds nothing left to delete.

What is deleted:
- Elasticsearch: daily indices ``<prefix>-YYYY.MM.DD`` older than
  ``elasticsearch.retention_days`` before today (UTC);
- MongoDB ``window_stats``: closed windows that ended more than ``windows.retention_s``
  ago (the TTL index does the same on servers that implement TTL).

The clock is read here, in the timer; ``run_retention`` takes ``now`` as a parameter.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from faust.types import TP

from app.adapters.elasticsearch import ElasticsearchSink
from app.adapters.window_store import MongoWindowStore
from app.faust_app import app, settings
from app.metrics import RETENTION_DELETED, RETENTION_FAILURES, RETENTION_LAST_SUCCESS
from app.settings import Settings

log = logging.getLogger(__name__)

TICK_S = 60.0  # how often the timer checks whether a run is due (and retries failures)
INTERVAL_S = 3600.0  # how often retention runs when it succeeds

ES, MONGO = "elasticsearch_indices", "mongo_windows"


@dataclass(slots=True)
class RetentionReport:
    today: str  # the UTC date the index retention counted from (YYYY-MM-DD)
    window_cutoff: float  # windows that ended before this (epoch seconds) were deleted
    indices: list[str] = field(default_factory=list)
    windows: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # store -> what went wrong

    @property
    def ok(self) -> bool:
        return not self.errors


def utc_day(now: float) -> str:
    """The UTC calendar date of ``now`` (epoch seconds), as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(now, tz=UTC).date().isoformat()


def is_due(last_success: float | None, now: float, interval: float) -> bool:
    """Run when it never succeeded in this process, or ``interval`` passed since."""
    return last_success is None or now - last_success >= interval


_indexed: set[tuple[str, str]] = set()  # (url, database) whose indexes were ensured


async def run_retention(settings: Settings, now: float, *,
                        sink: ElasticsearchSink | None = None,
                        store: MongoWindowStore | None = None) -> RetentionReport:
    """Delete what expired as of ``now``; each store on its own (one failing spares the other).

    Clients not passed in are created for this run and closed after it.
    """
    report = RetentionReport(today=utc_day(now),
                             window_cutoff=now - settings.windows.retention_s)
    own_sink = sink is None
    es_sink = sink or ElasticsearchSink(settings.elasticsearch)
    try:
        keep = settings.elasticsearch.retention_days
        report.indices = await es_sink.delete_expired(keep_days=keep, today=report.today)
        RETENTION_DELETED.labels(ES).inc(len(report.indices))
        if report.indices:
            log.info("retention: deleted %d Elasticsearch indices older than %d days "
                     "(today %s): %s", len(report.indices), keep, report.today,
                     ", ".join(report.indices))
    except Exception as exc:  # any failure: logged, retried at the next tick
        report.errors[ES] = f"{type(exc).__name__}: {exc}"
        RETENTION_FAILURES.labels(ES).inc()
        log.warning("retention: deleting expired Elasticsearch indices failed "
                    "(retried next tick): %s", report.errors[ES])
    finally:
        if own_sink:
            await es_sink.close()

    mongo = settings.mongo
    own_store = store is None
    window_store = store or MongoWindowStore(mongo.url, mongo.database,
                                             retention_s=settings.windows.retention_s)
    try:
        await _ensure_indexes_once(window_store, (mongo.url, mongo.database))
        report.windows = await window_store.delete_older_than(report.window_cutoff)
        RETENTION_DELETED.labels(MONGO).inc(report.windows)
        if report.windows:
            log.info("retention: deleted %d MongoDB windows that ended before %s",
                     report.windows,
                     datetime.fromtimestamp(report.window_cutoff, tz=UTC).isoformat())
    except Exception as exc:
        report.errors[MONGO] = f"{type(exc).__name__}: {exc}"
        RETENTION_FAILURES.labels(MONGO).inc()
        log.warning("retention: deleting expired MongoDB windows failed "
                    "(retried next tick): %s", report.errors[MONGO])
    finally:
        if own_store:
            await window_store.close()
    return report


async def _ensure_indexes_once(store: MongoWindowStore, where: tuple[str, str]) -> None:
    """Create the window indexes once per process; a failure is logged, not fatal."""
    if where in _indexed:
        return
    try:
        await store.ensure_indexes()
    except Exception as exc:  # e.g. a TTL index created with another retention_s
        log.warning("retention: could not ensure the window_stats indexes "
                    "(deleting anyway, retried next run): %s", exc)
        return
    _indexed.add(where)


def owns_retention() -> bool:
    """True on the worker that owns partition 0 of ``logs.events`` (none while unassigned)."""
    try:
        actives = app.assignor.assigned_actives()
    except Exception:  # not assigned yet (starting, rebalancing)
        return False
    return TP(settings.topics.events, 0) in actives


_last_success: dict[str, float] = {}  # "run" -> monotonic time of the last complete run


@app.timer(TICK_S, name="retention")  # type: ignore[untyped-decorator]  # faust types it loosely
async def retention_tick() -> None:
    if not owns_retention():
        return
    started = time.monotonic()
    if not is_due(_last_success.get("run"), started, INTERVAL_S):
        return
    now = time.time()
    try:
        report = await run_retention(settings, now)
    except Exception:  # run_retention catches per store; this is a bug guard
        log.exception("retention: run failed (retried next tick)")
        return
    if report.ok:
        _last_success["run"] = started
        RETENTION_LAST_SUCCESS.set(now)
        log.info("retention: done (%d indices, %d windows deleted)",
                 len(report.indices), report.windows)
