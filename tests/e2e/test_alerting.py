"""Alerting end to end on the real services: the generator's incidents (error spike,
latency spike, silent service, brute-force IP) fire the default rules (on
``alerts.transitions`` and in MongoDB history), resolve when the incident stops, a
silence suppresses the next notification, and a worker killed mid-incident leaves no
notice twice under different keys on ``notifications.outbox``."""

from __future__ import annotations

import os
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from tests.e2e.alertkit import FAST_ALERTING, generate, notices, silence, transitions
from tests.e2e.conftest import Worker
from tests.e2e.traffic import wait_until

pytestmark = pytest.mark.e2e

ENV = FAST_ALERTING | {"LOGWARDEN_WORKER__AGENTS": '["parse", "aggregate", "alerts"]'}
ATTACKER = "203.0.113.66"
INCIDENTS = ["error_spike=checkout", "latency_spike=search", "silent=payments",
             f"brute_force_ip={ATTACKER}"]
WANTED = {("high-error-rate", "service", "checkout"), ("high-latency-p95", "service", "search"),
          ("service-silent", "service", "payments"),
          ("ssh-brute-force", "source_ip", ATTACKER)}


def reached(docs: list[dict[str, Any]], state: str) -> set[tuple[str, str, str]]:
    out = set()
    for doc in docs:
        if doc["to"] == state:
            for rule, label, value in WANTED:
                if doc["rule"] == rule and doc["labels"].get(label) == value:
                    out.add((rule, label, value))
    return out


def test_incidents_fire_resolve_silence_and_survive_a_kill(isolated: dict[str, str],
                                                            tmp_path: Path) -> None:
    env = isolated | ENV
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    second: Worker | None = None
    try:
        generate(env, 30, []).wait(timeout=90)  # every service active
        incident = generate(env, 85, INCIDENTS)
        # the error spike fires first (a 1 min error rate over sliding 10 s windows)
        assert wait_until(lambda: ("high-error-rate", "service", "checkout") in reached(
            transitions(env), "firing"), 75), f"no firing error-rate alert:\n{worker.tail()}"
        assert wait_until(lambda: any(n["group"] == "high-error-rate|service=checkout"
                                      and n["kind"] == "firing" for n in notices(env)), 30), (
            f"no firing notification:\n{worker.tail()}")
        # mid-incident: kill -9 and start again (the table is rebuilt from its changelog)
        assert worker.proc is not None
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(timeout=30)
        silenced = silence(env, "alertname=high-error-rate", "service=checkout")
        second = Worker(env, tmp_path / "worker2.log")
        second.start()
        assert wait_until(lambda: reached(transitions(env), "firing") == WANTED, 90), (
            f"firing: {reached(transitions(env), 'firing')}\n{second.tail()}")
        incident.wait(timeout=120)
        generate(env, 75, []).wait(timeout=150)  # the incidents stop
        resolved_wanted = WANTED - {("service-silent", "service", "payments")}
        assert wait_until(lambda: resolved_wanted <= reached(transitions(env), "resolved"),
                          45), f"resolved: {reached(transitions(env), 'resolved')}\n" \
                               f"{second.tail()}"
    finally:
        if second is not None:
            second.stop()
        worker.stop()

    docs = transitions(env)
    # MongoDB history holds every transition published, once (ids are deterministic)
    client: MongoClient[dict[str, Any]] = MongoClient(env["LOGWARDEN_MONGO__URL"])
    try:
        history = {d["_id"]: d for d in
                   client[env["LOGWARDEN_MONGO__DATABASE"]]["alert_transitions"].find()}
    finally:
        client.close()
    assert {d["_id"] for d in docs} == set(history)
    assert reached(list(history.values()), "firing") == WANTED
    # payments came back in the last phase: its flatline alert resolved too
    assert ("service-silent", "service", "payments") in reached(docs, "resolved")

    outbox = notices(env)
    # the silence (added after the first firing notice) suppressed the resolve notice,
    # though the resolve itself is in the history
    checkout = [n for n in outbox if n["group"] == "high-error-rate|service=checkout"]
    assert {n["kind"] for n in checkout} == {"firing"}, (silenced, checkout)
    # the kill: one key per notice (a re-send after the restart reuses its key)
    by_notice: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for n in outbox:
        members = tuple(sorted((a["fingerprint"], a["state"], a["activation"])
                               for a in n["alerts"]))
        by_notice[(n["group"], n["kind"], members)].add(n["key"])
    assert all(len(keys) == 1 for keys in by_notice.values()), by_notice
    firing_notices = {(n["group"], n["kind"]) for n in outbox}
    assert ("ssh-brute-force", "firing") in firing_notices
    assert any(n["kind"] == "resolved" and n["group"] == "ssh-brute-force" for n in outbox)
    resolved = [a for n in outbox for a in n["alerts"] if a["state"] == "resolved"]
    assert all(a["duration_s"] and a["duration_s"] > 0 and a["peak"] is not None
               for a in resolved)
