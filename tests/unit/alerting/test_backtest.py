"""Back-testing generator traffic (the worker's parsers, windows and engine, offline)."""

from __future__ import annotations

import time
from pathlib import Path

from app.adapters.rule_files import load_rule_paths
from app.cli_rules import backtest, docs_from_lines
from app.generator import Incidents, LineFactory
from app.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]


def generated(seconds: int, rate: int, incident: tuple[int, int], incidents: Incidents,
              t0: float) -> list[tuple[str, str | None, str | None, str, float]]:
    factory = LineFactory(seed=3)
    lines = []
    for i in range(seconds * rate):
        at = t0 + i / rate
        factory.incidents = incidents if incident[0] <= at - t0 < incident[1] else Incidents()
        line = factory.make(at)
        lines.append((line.text, line.fmt, line.service, line.source, at))
    return lines


def test_generator_incidents_fire_and_resolve_offline() -> None:
    settings = load_settings()
    rules = load_rule_paths([ROOT / "alert_rules"], (10,))
    t0 = time.time() // 60 * 60 - 3600
    incidents = Incidents(error_spike="checkout", latency_spike="search",
                          brute_force_ip="203.0.113.66", silent="payments")
    docs = list(docs_from_lines(settings, generated(300, 60, (90, 210), incidents, t0)))
    report = backtest(settings, rules, docs, window_sizes=(10,))
    fired = {(t.rule, t.labels.get("service") or t.labels.get("source_ip"))
             for t in report.transitions if t.to_state == "firing"}
    resolved = {(t.rule, t.labels.get("service") or t.labels.get("source_ip"))
                for t in report.transitions if t.to_state == "resolved"}
    wanted = {("high-error-rate", "checkout"), ("high-latency-p95", "search"),
              ("service-silent", "payments"), ("ssh-brute-force", "203.0.113.66")}
    assert wanted <= fired, fired
    assert wanted <= resolved, resolved
    assert all(t.at >= t0 + 90 for t in report.transitions if t.to_state == "firing")
    assert {n.group for n in report.notifications if n.kind == "firing"} >= {
        "high-error-rate|service=checkout", "ssh-brute-force", "service-silent"}
    assert not report.failures
    assert report.to_doc()["events"] == len(docs)
