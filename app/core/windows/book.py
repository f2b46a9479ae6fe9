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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.windows.stats import (
    FoldEvent,
    WindowKey,
    WindowStats,
    fold_event,
    ts_epoch,
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


def fold_messages(messages: Iterable[tuple[int, Sequence[FoldEvent | dict[str, Any]]]],
                  mark: PartitionMark, floor: Callable[[WindowKey], Mapping[str, int]], *,
                  service_sizes: tuple[int, ...], route_sizes: tuple[int, ...]) -> BatchFold:
    """Fold ``(logs.events offset, events)`` messages of one partition, in offset order.

    Events are ``FoldEvent``s (``app.core.eventbatch.decode_fold_batch``) or decoded
    dicts. ``floor(key)`` gives the highest positions already folded into ``key`` (per
    source); it is asked once per window touched. An event's source is its ``logs.raw``
    partition (``pos``); an event without one (a plain producer to ``logs.events``) is
    placed by its ``logs.events`` offset instead. Windows that closed refuse their
    events (late). Each window's events are gathered first and added in one pass.
    """
    out = BatchFold()
    # windows are keyed by plain tuples (service, route, size, start) on the hot path
    # (hashing a tuple is several times cheaper than a dataclass) and numbered in the
    # order they are first touched; WindowKeys are made once per window
    Tkey = tuple[str, str | None, int, float]
    windows: dict[Tkey, tuple[int, dict[str, int], dict[str, int]]] = {}  # n, floor, highs
    order: list[Tkey] = []
    # events going into the same set of windows (same service, route and starts: most
    # of a message) are gathered into one cell, folded once and merged into each window
    cells: dict[tuple[int, ...], list[FoldEvent]] = {}
    services = out.services
    max_event = mark.max_event
    closed = mark.closed
    own_source = f"e{mark.partition}"
    raw_sources = _RAW_SOURCES
    per_service: list[tuple[str | None, int]] = [(None, size) for size in service_sizes]
    # an event's windows depend on its service, route and which ``step``-second slot its
    # time falls in (every size is a multiple of ``step``): resolved once per such slot
    step = math.gcd(*service_sizes, *route_sizes)
    Slot = tuple[str, Any, float]
    Resolved = tuple[list[tuple[int, dict[str, int], dict[str, int]] | None],
                     int, list[FoldEvent] | None]  # windows (None: late), count, cell
    slots: dict[Slot, Resolved] = {}
    late = replayed = events = 0
    last_text, ts = "", 0.0
    for offset, docs in messages:
        for index, event in enumerate(docs):
            if not isinstance(event, FoldEvent):
                event = fold_event(event)
            text = event.ts
            if text != last_text:  # a message's events often share their timestamp
                ts = ts_epoch(str(text))
                last_text = text
            events += 1
            if max_event is None or ts > max_event:
                max_event = ts
            pos = event.pos
            if pos:
                p = pos[0]
                source = raw_sources[p] if p < 256 else f"r{p}"
                at = (pos[1] << INDEX_BITS) | pos[2]
            else:
                source, at = own_source, (offset << INDEX_BITS) | index
            service = event.service
            if service.__class__ is not str:
                service = str(service or "unknown")
            elif not service:
                service = "unknown"
            seen = services.get(service)
            if seen is None:
                services[service] = (ts, ts)
            elif ts < seen[0] or ts > seen[1]:
                services[service] = (min(ts, seen[0]), max(ts, seen[1]))
            http = event.http
            route = None if http is None or not route_sizes else http.route
            if not route:
                route = None
            elif route.__class__ is not str:
                route = str(route)
            # exact for ts >= 0: ts - ts % size == slot - slot % size when step divides size
            slot = (service, route, ts - ts % step) if ts >= 0 else None
            resolved = None if slot is None else slots.get(slot)
            if resolved is None:
                resolved = _resolve(service, route, ts, per_service, route_sizes, closed,
                                    windows, order, floor, cells)
                if slot is not None:
                    slots[slot] = resolved
            targets, count, cell = resolved
            into: list[int] = []
            for target in targets:
                if target is None:  # the window has closed: mark.is_late
                    late += 1
                    continue
                number, done, high = target
                if at <= done.get(source, -1):
                    replayed += 1  # folded before, or earlier in this very batch
                    continue
                done[source] = high[source] = at
                into.append(number)
            if len(into) == count:
                if cell is not None:
                    cell.append(event)
            elif into:
                cells.setdefault(tuple(into), []).append(event)
    partials: dict[int, WindowStats] = {}
    for cell, folded in cells.items():
        if not folded:  # its windows saw only replayed events
            continue
        stats = WindowStats()
        stats.add_events(folded)
        taken = False
        for number in cell:
            partial = partials.get(number)
            if partial is not None:
                partial.merge(stats)
            elif not taken:  # the first new window takes the cell's stats ...
                partials[number], taken = stats, True
            else:  # ... the others a copy
                partial = partials[number] = WindowStats()
                partial.merge(stats)
    for number in sorted(partials):
        tkey = order[number]
        key = WindowKey(*tkey)
        out.partials[key] = partials[number]
        out.seen[key] = windows[tkey][2]
    out.events, out.late, out.replayed = events, late, replayed
    out.max_event = max_event
    return out


def _resolve(service: str, route: Any, ts: float, per_service: list[tuple[str | None, int]],
             route_sizes: tuple[int, ...], closed: float | None,
             windows: dict[Any, tuple[int, dict[str, int], dict[str, int]]], order: list[Any],
             floor: Callable[[WindowKey], Mapping[str, int]],
             cells: dict[tuple[int, ...], list[FoldEvent]]) -> Any:
    """The windows of an event of ``service`` and ``route`` at ``ts`` (``fold_messages``):
    per target window ``(number, floor, highs)``, or None when it closed; how many are
    open; the cell of events going into all of those."""
    targets = per_service
    if route:
        targets = per_service + [(route, size) for size in route_sizes]
    resolved: list[tuple[int, dict[str, int], dict[str, int]] | None] = []
    for route_key, size in targets:
        start = ts - ts % size  # = window_start(ts, size), as in window_keys
        if closed is not None and start + size <= closed:  # mark.is_late
            resolved.append(None)
            continue
        tkey = (service, route_key, size, start)
        window = windows.get(tkey)
        if window is None:
            window = windows[tkey] = (len(order), dict(floor(WindowKey(*tkey))), {})
            order.append(tkey)
        resolved.append(window)
    numbers = tuple(window[0] for window in resolved if window is not None)
    cell = cells.setdefault(numbers, []) if numbers else None
    return resolved, len(numbers), cell


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
