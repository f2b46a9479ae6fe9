"""The bookkeeping that makes window totals exact under at-least-once delivery.

Kafka redelivers after a crash or a rebalance, twice over: the ``parse`` agent may parse
a ``logs.raw`` message again and publish its events a second time (new ``logs.events``
messages, same events), and the ``aggregate`` agent may be handed ``logs.events``
messages it already folded. Every event therefore carries its position in
``logs.raw`` (``pos``: partition, offset, record index; see ``app.core.ingest``), and
three records kept in the changelogged window table make any replay harmless:

* every open window remembers, per source partition, the highest position folded into
  it (``OpenWindow.seen``); an event at or below it is skipped for that window. The
  ``parse`` agent publishes a partition's events in order, so positions only grow. One
  table key is one changelog record, so a window's stats and its positions are written
  together or not at all.
* every partition of ``logs.events`` remembers the largest event time it has seen and
  the watermark up to which windows closed (``PartitionMark``). An event for a window
  that already closed is late: it is counted as such and never reopens the window.
* every service remembers on which partition, from when and until when it logged
  (``ServiceSeen``), so windows where it logged nothing close as empty windows until it
  has been silent for a configured time.

``close_plan`` decides, for one partition and a watermark, which windows close, which
empty windows are due and which silent services to forget. Nothing here reads a clock
or touches a table: the agent passes ``now``-derived watermarks and table contents in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.windows.stats import (
    WindowKey,
    WindowStats,
    event_time,
    window_start,
)

#: A position as one ordered integer: offset, then record index within the message.
INDEX_BITS = 20
MAX_RECORDS_PER_MESSAGE = 1 << INDEX_BITS


def position(offset: int, index: int) -> int:
    return (offset << INDEX_BITS) | index


@dataclass(slots=True)
class OpenWindow:
    partition: int
    seen: dict[str, int]  # source partition -> highest position folded in
    stats: WindowStats

    def to_state(self) -> dict[str, Any]:
        return {"p": self.partition, "o": self.seen, "s": self.stats.to_state()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OpenWindow:
        return cls(int(state["p"]), {str(k): int(v) for k, v in state["o"].items()},
                   WindowStats.from_state(state["s"]))

    def absorb(self, partial: WindowStats, seen: Mapping[str, int]) -> None:
        self.stats.merge(partial)
        for source, pos in seen.items():
            if pos > self.seen.get(source, -1):
                self.seen[source] = pos


@dataclass(slots=True)
class PartitionMark:
    partition: int
    max_event: float | None = None  # largest event time seen on the partition
    closed: float | None = None  # windows ending at or before this take no more events
    emitted: float | None = None  # ... and have been emitted (MongoDB, windows.closed)

    def to_state(self) -> dict[str, Any]:
        return {"p": self.partition, "max": self.max_event, "closed": self.closed,
                "emitted": self.emitted}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PartitionMark:
        return cls(int(state["p"]), _opt_float(state.get("max")),
                   _opt_float(state.get("closed")), _opt_float(state.get("emitted")))

    def is_late(self, key: WindowKey) -> bool:
        return self.closed is not None and key.end <= self.closed


@dataclass(slots=True)
class ServiceSeen:
    partition: int
    first: float  # event time of its first event (since it was last forgotten)
    last: float  # event time of its latest event

    def to_state(self) -> dict[str, Any]:
        return {"p": self.partition, "first": self.first, "last": self.last}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ServiceSeen:
        return cls(int(state["p"]), float(state["first"]), float(state["last"]))


@dataclass(slots=True)
class BatchFold:
    """What one partition's share of a batch adds: partials, marks and counts."""

    partials: dict[WindowKey, WindowStats] = field(default_factory=dict)
    seen: dict[WindowKey, dict[str, int]] = field(default_factory=dict)  # highest positions
    max_event: float | None = None
    services: dict[str, tuple[float, float]] = field(default_factory=dict)  # first, last
    events: int = 0
    late: int = 0  # (event, window) pairs refused because the window had closed
    replayed: int = 0  # (event, window) pairs skipped because already folded


_RAW_SOURCES = [f"r{p}" for p in range(256)]


def fold_messages(messages: Iterable[tuple[int, list[dict[str, Any]]]], mark: PartitionMark,
                  floor: Callable[[WindowKey], Mapping[str, int]], *,
                  service_sizes: tuple[int, ...], route_sizes: tuple[int, ...]) -> BatchFold:
    """Fold ``(logs.events offset, docs)`` messages of one partition, in offset order.

    ``floor(key)`` gives the highest positions already folded into ``key`` (per source);
    it is asked once per window touched. An event's source is its ``logs.raw`` partition
    (``pos``); an event without one (a plain producer to ``logs.events``) is placed by
    its ``logs.events`` offset instead. Windows that closed refuse their events (late).
    """
    out = BatchFold()
    # keyed by plain tuples (service, route, size, start) on the hot path: hashing a
    # tuple is several times cheaper than a dataclass; WindowKeys are made once per window
    keys: dict[tuple[str, str | None, int, float], WindowKey] = {}
    floors: dict[tuple[str, str | None, int, float], dict[str, int]] = {}
    partials: dict[tuple[str, str | None, int, float], WindowStats] = {}
    highs: dict[tuple[str, str | None, int, float], dict[str, int]] = {}
    services = out.services
    max_event = mark.max_event
    closed = mark.closed
    own_source = f"e{mark.partition}"
    raw_sources = _RAW_SOURCES
    per_service: list[tuple[str | None, int]] = [(None, size) for size in service_sizes]
    for offset, docs in messages:
        for index, doc in enumerate(docs):
            ts = event_time(doc)
            out.events += 1
            if max_event is None or ts > max_event:
                max_event = ts
            pos = doc.get("pos")
            if pos:
                p = pos[0]
                source = raw_sources[p] if p < 256 else f"r{p}"
                at = (pos[1] << INDEX_BITS) | pos[2]
            else:
                source, at = own_source, (offset << INDEX_BITS) | index
            service = str(doc.get("service") or "unknown")
            seen = services.get(service)
            if seen is None:
                services[service] = (ts, ts)
            elif ts < seen[0] or ts > seen[1]:
                services[service] = (min(ts, seen[0]), max(ts, seen[1]))
            targets: list[tuple[str | None, int]] = per_service
            if route_sizes:
                http = doc.get("http")
                route = http.get("route") if isinstance(http, dict) else None
                if route:
                    targets = per_service + [(str(route), size) for size in route_sizes]
            for route_key, size in targets:
                start = ts - ts % size  # = window_start(ts, size), as in window_keys
                if closed is not None and start + size <= closed:  # mark.is_late
                    out.late += 1
                    continue
                tkey = (service, route_key, size, start)
                done = floors.get(tkey)
                if done is None:
                    key = keys[tkey] = WindowKey(service, route_key, size, start)
                    done = floors[tkey] = dict(floor(key))
                if at <= done.get(source, -1):
                    out.replayed += 1  # folded before, or earlier in this very batch
                    continue
                done[source] = at
                stats = partials.get(tkey)
                if stats is None:
                    stats = partials[tkey] = WindowStats()
                    highs[tkey] = {}
                stats.add(doc)
                highs[tkey][source] = at
    out.partials = {keys[tkey]: stats for tkey, stats in partials.items()}
    out.seen = {keys[tkey]: high for tkey, high in highs.items()}
    out.max_event = max_event
    return out


@dataclass(slots=True)
class ClosePlan:
    closing: list[WindowKey]  # open windows whose end the watermark passed
    empty: list[WindowKey]  # windows of known services that saw no event
    forget: list[str]  # services silent for longer than ``silent_after_s``
    closed: float  # the partition's new ``PartitionMark.closed`` (and, once out, ``emitted``)

    def __bool__(self) -> bool:
        return bool(self.closing or self.empty or self.forget)


def close_plan(mark: PartitionMark, watermark: float, open_windows: Iterable[WindowKey],
               services: Mapping[str, ServiceSeen], *, service_sizes: tuple[int, ...],
               silent_after_s: float) -> ClosePlan:
    """What closes on ``mark``'s partition when its watermark reaches ``watermark``.

    Closing is two-phase: ``closed`` is raised first (no more events enter those
    windows), the windows are emitted, then ``emitted`` is raised and they are dropped.
    A crash in between leaves them open with ``closed`` ahead of ``emitted``, and the
    next plan emits them again, identical. Empty windows are planned per service and
    window size for every window ending in ``(mark.emitted, closed]`` that starts at or
    after the service's first event and ends no later than ``silent_after_s`` past its
    last one; a service silent for longer than that is forgotten.
    """
    closed = max(watermark, mark.closed if mark.closed is not None else -math.inf)
    previous = mark.emitted
    closing = sorted((k for k in open_windows if k.end <= closed), key=_window_order)
    present = set(closing)
    empty: list[WindowKey] = []
    forget: list[str] = []
    for service, seen in sorted(services.items()):
        horizon = min(closed, seen.last + silent_after_s)
        for size in service_sizes:
            start = window_start(seen.first, size)
            if previous is not None:
                start = max(start, window_start(previous, size))
            while start + size <= horizon:
                if previous is None or start + size > previous:
                    key = WindowKey(service, None, size, start)
                    if key not in present:
                        empty.append(key)
                start += size
        if seen.last + silent_after_s <= closed:
            forget.append(service)
    return ClosePlan(closing, empty, forget, closed)


def _window_order(key: WindowKey) -> tuple[float, str, str, int]:
    return key.start, key.service, key.route or "", key.size


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
