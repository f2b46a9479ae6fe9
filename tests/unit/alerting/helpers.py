"""Small builders shared by the alerting unit tests."""

from __future__ import annotations

from typing import Any

import yaml

from app.core.alerting.engine import DictStore, Evaluator, Item, Outcome, Router
from app.core.alerting.loading import load_rules
from app.core.alerting.models import Rule, RuleSet
from app.core.alerting.types.base import Binding


def rules(text: str, sizes: tuple[int, ...] = (10, 60)) -> RuleSet:
    return load_rules([("test.yaml", text)], Binding(sizes))


def rule(**fields: Any) -> Rule:
    return rules(yaml.safe_dump(fields)).rules[0]


def window(service: str, start: float, size: int = 10, events: int = 100, errors: int = 0,
           p95: float | None = 50.0, status: dict[str, int] | None = None) -> dict[str, Any]:
    return {"_id": f"{service}||{size}|{start:.0f}", "service": service, "route": None,
            "granularity_s": size, "start": start, "end": start + size, "events": events,
            "errors": errors, "error_rate": errors / events if events else 0.0, "bytes": 0,
            "severity": {}, "status": status or {},
            "latency_ms": {"p50": p95, "p95": p95, "p99": p95, "max": p95, "avg": p95},
            "top_routes": [["/api/cart", events]], "top_clients": [["10.0.0.1", 3]],
            "top_errors": [["upstream timeout", errors]] if errors else []}


def event(ts: float, service: str = "checkout", message: str = "ok", severity: int = 9,
          **extra: Any) -> dict[str, Any]:
    doc = {"event_id": f"e{ts}-{service}-{message}", "ts": ts, "service": service,
           "severity_number": severity, "severity_text": "x", "message": message,
           "is_error": severity >= 17}
    doc.update(extra)
    return doc


class Harness:
    """Router + Evaluator over a dict store, driven by event time; ``wall`` (the time
    notification scheduling runs on) is event time unless given, as when back-testing."""

    def __init__(self, ruleset: RuleSet, **kwargs: Any) -> None:
        self.router = Router(ruleset)
        self.evaluator = Evaluator(ruleset, **kwargs)
        self.store = DictStore()
        self.out = Outcome()
        self.groups: set[str] = set()

    def _apply(self, routed: list[tuple[str, Item]], now: float,
               wall: float | None = None) -> None:
        grouped: dict[str, list[Item]] = {}
        for nkey, item in routed:
            grouped.setdefault(nkey, []).append(item)
        for nkey, items in grouped.items():
            self.groups.add(nkey)
            self.out.extend(self.evaluator.apply(self.store, nkey, items, now, wall))

    def events(self, *docs: dict[str, Any], wall: float | None = None) -> None:
        for doc in docs:
            self._apply(self.router.route_event(doc, float(doc["ts"])), float(doc["ts"]), wall)

    def windows(self, *docs: dict[str, Any]) -> None:
        for doc in docs:
            self._apply(self.router.route_window(doc), float(doc["end"]))

    def tick(self, now: float, wall: float | None = None) -> None:
        for nkey in sorted(self.groups):
            self.out.extend(self.evaluator.tick(self.store, nkey, now, wall))

    def states(self, rule: str) -> list[str]:
        return [f"{t.from_state}->{t.to_state}" for t in self.out.transitions if t.rule == rule]
