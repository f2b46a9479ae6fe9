"""Back-testing: canonical events through the same windows and rule engine, offline.

The clock is the events' own time: events are taken in event-time order in steps of
``step_s``; after each step the watermark (largest event time minus ``grace_s``) closes
windows exactly as the worker's closer does (``app.core.windows.book``), closed windows
and matching events go through the same ``Router`` and ``Evaluator`` as in the alerts
agent, and every group is ticked at the watermark. What would have fired, resolved and
been notified is collected in a ``Report``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.core.alerting.engine import DictStore, Evaluator, Item, Outcome, Router, group_key
from app.core.alerting.lifecycle import Transition
from app.core.alerting.models import RuleSet
from app.core.alerting.silences import Mutes
from app.core.notification import Notification
from app.core.windows.book import OpenWindow, PartitionMark, ServiceSeen, close_plan, fold_messages
from app.core.windows.stats import WindowKey, WindowStats, event_time


class OfflineWindows:
    """The window book of one partition in memory, closed by an event-time watermark."""

    def __init__(self, service_sizes: tuple[int, ...], *, silent_after_s: float) -> None:
        self.sizes = service_sizes
        self.silent_after_s = silent_after_s
        self.mark = PartitionMark(0)
        self.open: dict[WindowKey, OpenWindow] = {}
        self.services: dict[str, ServiceSeen] = {}
        self.offset = 0

    def add(self, docs: list[dict[str, Any]]) -> None:
        self.offset += 1

        def floor(key: WindowKey) -> dict[str, int]:
            window = self.open.get(key)
            return {} if window is None else window.seen

        fold = fold_messages([(self.offset, docs)], self.mark, floor,
                             service_sizes=self.sizes, route_sizes=())
        for key, partial in fold.partials.items():
            window = self.open.get(key)
            if window is None:
                self.open[key] = OpenWindow(0, fold.seen[key], partial)
            else:
                window.absorb(partial, fold.seen[key])
        for service, (first, last) in fold.services.items():
            seen = self.services.get(service)
            self.services[service] = ServiceSeen(0, first, last) if seen is None else \
                ServiceSeen(0, min(first, seen.first), max(last, seen.last))
        if fold.max_event is not None:
            self.mark.max_event = fold.max_event

    def close(self, watermark: float) -> list[dict[str, Any]]:
        plan = close_plan(self.mark, watermark, list(self.open), self.services,
                          service_sizes=self.sizes, silent_after_s=self.silent_after_s)
        self.mark.closed = plan.closed
        docs = [self.open.pop(key).stats.final(key) for key in plan.closing]
        docs += [WindowStats().final(key) for key in plan.empty]
        for service in plan.forget:
            self.services.pop(service, None)
        self.mark.emitted = plan.closed
        return sorted(docs, key=lambda d: (d["end"], d["service"], d["granularity_s"]))


@dataclass(slots=True)
class Report:
    events: int = 0
    windows: int = 0
    transitions: list[Transition] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    suppressed: list[tuple[str, str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def take(self, outcome: Outcome) -> None:
        self.transitions += outcome.transitions
        self.notifications += outcome.notifications
        self.suppressed += outcome.suppressed
        self.failures += [f"{f.rule}: {f.error}" for f in outcome.failures]

    def to_doc(self) -> dict[str, Any]:
        return {
            "events": self.events, "windows": self.windows,
            "transitions": [t.to_doc() for t in self.transitions],
            "notifications": [{"key": n.key, "kind": n.kind, "group": n.group,
                               "title": n.title, "at": n.created_at, "routes": list(n.routes)}
                              for n in self.notifications],
            "failures": self.failures,
        }


class Backtest:
    def __init__(self, rules: RuleSet, *, window_sizes: tuple[int, ...], grace_s: float = 5.0,
                 silent_after_s: float = 3600.0, base_url: str = "http://127.0.0.1:6066",
                 step_s: float = 1.0, mutes: Mutes | None = None) -> None:
        self.router = Router(rules)
        self.evaluator = Evaluator(rules, base_url=base_url, mutes=mutes)
        self.store = DictStore()
        self.windows = OfflineWindows(window_sizes, silent_after_s=silent_after_s)
        self.grace_s = grace_s
        self.step_s = step_s
        self.report = Report()
        self.groups: set[str] = set()

    def run(self, docs: Iterable[dict[str, Any]], *, drain_s: float = 0.0) -> Report:
        timed = sorted(((event_time(d), d) for d in docs), key=lambda p: p[0])
        chunk: list[tuple[float, dict[str, Any]]] = []
        for ts, doc in timed:
            if chunk and ts >= chunk[0][0] + self.step_s:
                self._step(chunk)
                chunk = []
            chunk.append((ts, doc))
        if chunk:
            self._step(chunk)
        last = timed[-1][0] if timed else 0.0
        clock = last - self.grace_s
        while clock < last + drain_s:
            clock = min(clock + self.step_s, last + drain_s)
            self._advance(clock)
        return self.report

    def _step(self, chunk: list[tuple[float, dict[str, Any]]]) -> None:
        self.report.events += len(chunk)
        self.windows.add([doc for _, doc in chunk])
        grouped: dict[str, list[Item]] = {}
        for ts, doc in chunk:
            for nkey, item in self.router.route_event(doc, ts):
                grouped.setdefault(nkey, []).append(item)
        now = chunk[-1][0] - self.grace_s
        self._apply(grouped, now)
        self._advance(now)

    def _advance(self, now: float) -> None:
        closed = self.windows.close(now)
        self.report.windows += len(closed)
        grouped: dict[str, list[Item]] = {}
        for doc in closed:
            for nkey, item in self.router.route_window(doc):
                grouped.setdefault(nkey, []).append(item)
        self._apply(grouped, now)
        for nkey in sorted(self.groups):
            group = self.store.get(group_key(nkey))
            if group is not None and self.evaluator.due(group):
                self.report.take(self.evaluator.tick(self.store, nkey, now))

    def _apply(self, grouped: dict[str, list[Item]], now: float) -> None:
        for nkey, items in sorted(grouped.items()):
            self.groups.add(nkey)
            self.report.take(self.evaluator.apply(self.store, nkey, items, now))
