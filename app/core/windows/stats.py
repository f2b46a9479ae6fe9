"""Statistics of one tumbling window, built from canonical event documents.

A window is identified by (service, route or None, size in seconds, start). Its state
folds events in, merges with another window of the same key (a batch's partial into the
table's value, or tumbling windows into a longer view), and round-trips through JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from app.core.timeparse import epoch_from_iso, epoch_from_iso_utc
from app.core.windows.latency import LatencySketch
from app.core.windows.topn import TopN

SEVERITY_BANDS = ("unspecified", "trace", "debug", "info", "warn", "error", "fatal")
TOP_CAPACITY = 20


def severity_band(number: int) -> str:
    if number <= 0:
        return "unspecified"
    return SEVERITY_BANDS[min((number - 1) // 4 + 1, 6)]


#: ``severity_band`` of the OpenTelemetry severity numbers (0-24), looked up on the hot path
_BAND_OF: dict[Any, str] = {n: severity_band(n) for n in range(25)}
_BAND_OF[None] = "unspecified"


def window_start(ts: float, size: int) -> float:
    return ts - ts % size


def event_time(doc: dict[str, Any]) -> float:
    return ts_epoch(str(doc["ts"]))


def ts_epoch(text: str) -> float:
    """Epoch seconds of an event's ``ts`` (ISO 8601; raises ``ValueError`` otherwise)."""
    epoch = epoch_from_iso_utc(text)
    return epoch if epoch is not None else epoch_from_iso(text)


class FoldHttp(msgspec.Struct, gc=False):
    """The ``http`` fields the window fold reads (any JSON type: checked as the fold uses them)."""

    status_class: Any = None
    size: Any = msgspec.field(default=None, name="bytes")
    duration_ms: Any = None
    route: Any = None
    path: Any = None
    client_ip: Any = None


class FoldEvent(msgspec.Struct, gc=False):
    """The fields of a canonical event the window fold reads, and nothing else.

    Decoding ``logs.events`` straight into these (``app.core.eventbatch``) skips the rest
    of each document; ``fold_event`` builds one from a decoded dict with the same meaning
    (a missing key is None, a non-object ``http`` counts as none).
    """

    event_id: str
    ts: str
    service: Any = None
    severity_number: Any = None
    is_error: Any = None
    message: Any = ""
    pos: Any = None
    http: FoldHttp | None = None


_HTTP_FIELDS = ("status_class", "duration_ms", "route", "path", "client_ip")


def fold_event(doc: dict[str, Any]) -> FoldEvent:
    """``doc``'s fold fields (``doc`` needs ``event_id`` and ``ts``; any types)."""
    http = doc.get("http")
    return FoldEvent(
        event_id=str(doc.get("event_id", "")), ts=doc["ts"], service=doc.get("service"),
        severity_number=doc.get("severity_number"), is_error=doc.get("is_error"),
        message=doc.get("message", ""), pos=doc.get("pos"),
        http=FoldHttp(size=http.get("bytes"), **{k: http.get(k) for k in _HTTP_FIELDS})
        if isinstance(http, dict) else None)


@dataclass(frozen=True, slots=True, order=True)
class WindowKey:
    service: str
    route: str | None
    size: int
    start: float

    @property
    def end(self) -> float:
        return self.start + self.size

    def table_key(self) -> str:
        """A stable string key for tables and documents."""
        return f"{self.service}|{self.route or ''}|{self.size}|{self.start:.0f}"

    @classmethod
    def from_table_key(cls, key: str) -> WindowKey:
        service, route, size, start = key.rsplit("|", 3)
        return cls(service, route or None, int(size), float(start))


@dataclass(slots=True)
class WindowStats:
    events: int = 0
    errors: int = 0
    bytes: int = 0
    severity: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    latency: LatencySketch = field(default_factory=LatencySketch)
    routes: TopN = field(default_factory=lambda: TopN(TOP_CAPACITY))
    clients: TopN = field(default_factory=lambda: TopN(TOP_CAPACITY))
    error_messages: TopN = field(default_factory=lambda: TopN(TOP_CAPACITY))

    def add(self, doc: dict[str, Any] | FoldEvent) -> None:
        self.add_events([doc if isinstance(doc, FoldEvent) else fold_event(doc)])

    def add_events(self, events: list[FoldEvent]) -> None:
        """Fold ``events`` in, in order (one pass, the hot path of the window fold)."""
        self.events += len(events)
        severity, status = self.severity, self.status
        add_route, add_client = self.routes.add, self.clients.add
        durations: list[float] = []
        errors = size_total = 0
        band_of = _BAND_OF
        for event in events:
            number = event.severity_number
            band = band_of.get(number)
            if band is None:
                band = severity_band(int(number or 0))
            severity[band] = severity.get(band, 0) + 1
            http = event.http
            if http is not None:
                status_class = http.status_class
                if status_class:
                    status[status_class] = status.get(status_class, 0) + 1
                size = http.size
                if isinstance(size, int):
                    size_total += size
                duration = http.duration_ms
                if isinstance(duration, int | float):
                    durations.append(float(duration))
                route = http.route or http.path
                if route:
                    add_route(route if route.__class__ is str else str(route))
                client = http.client_ip
                if client:
                    add_client(client if client.__class__ is str else str(client))
            if event.is_error:
                errors += 1
                self.error_messages.add(str(event.message)[:200])
        self.latency.add_many(durations)
        self.errors += errors
        self.bytes += size_total

    def merge(self, other: WindowStats) -> None:
        self.events += other.events
        self.errors += other.errors
        self.bytes += other.bytes
        for mine, theirs in ((self.severity, other.severity), (self.status, other.status)):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n
        self.latency.merge(other.latency)
        self.routes.merge(other.routes)
        self.clients.merge(other.clients)
        self.error_messages.merge(other.error_messages)

    @property
    def error_rate(self) -> float:
        return self.errors / self.events if self.events else 0.0

    def final(self, key: WindowKey) -> dict[str, Any]:
        """The closed window's document (MongoDB ``window_stats``, ``windows.closed``)."""
        return {
            "_id": key.table_key(), "service": key.service, "route": key.route,
            "granularity_s": key.size, "start": key.start, "end": key.end,
            "events": self.events, "errors": self.errors, "error_rate": self.error_rate,
            "bytes": self.bytes, "severity": dict(self.severity), "status": dict(self.status),
            "latency_ms": self.latency.summary(),
            "top_routes": self.routes.top(10), "top_clients": self.clients.top(10),
            "top_errors": self.error_messages.top(5),
        }

    def to_state(self) -> dict[str, Any]:
        return {"n": self.events, "e": self.errors, "b": self.bytes, "sev": self.severity,
                "st": self.status, "lat": self.latency.to_state(),
                "r": self.routes.to_state(), "c": self.clients.to_state(),
                "m": self.error_messages.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> WindowStats:
        return cls(events=int(state["n"]), errors=int(state["e"]), bytes=int(state["b"]),
                   severity=dict(state["sev"]), status=dict(state["st"]),
                   latency=LatencySketch.from_state(state["lat"]),
                   routes=TopN.from_state(state["r"]), clients=TopN.from_state(state["c"]),
                   error_messages=TopN.from_state(state["m"]))


def window_keys(doc: dict[str, Any], ts: float, service_sizes: tuple[int, ...],
                route_sizes: tuple[int, ...]) -> list[WindowKey]:
    """The windows an event at ``ts`` counts in: per service, and per (service, route)."""
    service = str(doc.get("service") or "unknown")
    keys = [WindowKey(service, None, size, window_start(ts, size)) for size in service_sizes]
    if route_sizes:
        http = doc.get("http")
        route = http.get("route") if isinstance(http, dict) else None
        if route:
            keys += [WindowKey(service, str(route), size, window_start(ts, size))
                     for size in route_sizes]
    return keys


def fold(docs: list[dict[str, Any]], service_sizes: tuple[int, ...] = (10, 60),
         route_sizes: tuple[int, ...] = (60,)) -> dict[WindowKey, WindowStats]:
    """Per-window partials of a batch: each touched window once, ready to merge."""
    partials: dict[WindowKey, WindowStats] = {}
    for doc in docs:
        for key in window_keys(doc, event_time(doc), service_sizes, route_sizes):
            stats = partials.get(key)
            if stats is None:
                stats = partials[key] = WindowStats()
            stats.add(doc)
    return partials


def rollup(windows: list[tuple[WindowKey, WindowStats]], size: int) -> dict[WindowKey, WindowStats]:
    """Longer views (5 min, 1 h) built by merging tumbling windows, not by new state."""
    out: dict[WindowKey, WindowStats] = {}
    for key, stats in windows:
        if size % key.size:
            raise ValueError(f"a {size}s view cannot be built from {key.size}s windows")
        target = WindowKey(key.service, key.route, size, window_start(key.start, size))
        merged = out.get(target)
        if merged is None:
            merged = out[target] = WindowStats()
        merged.merge(stats)
    return out
