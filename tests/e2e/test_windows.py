"""Windows end to end: exact totals in MongoDB, each window closed once on
``windows.closed``, empty windows for a silent service, the dashboard cache in Redis,
and a replay of ``logs.events`` into a fresh consumer group that changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from redis import Redis

from tests.e2e.conftest import Worker, es_call, read_topic
from tests.e2e.traffic import (
    Event,
    aligned_past,
    non_empty,
    produce_lines,
    steady,
    stored_windows,
    truth,
    wait_until,
)

pytestmark = pytest.mark.e2e

WINDOW_ENV = {
    "LOGWARDEN_WINDOWS__GRACE_S": "1",
    "LOGWARDEN_WINDOWS__IDLE_AFTER_S": "3",
    "LOGWARDEN_WINDOWS__CLOSE_INTERVAL_S": "0.5",
    "LOGWARDEN_WINDOWS__SILENT_AFTER_S": "60",
    "LOGWARDEN_WINDOWS__BATCH_WAIT_S": "0.2",
}


def mongo_docs(env: dict[str, str]) -> list[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(env["LOGWARDEN_MONGO__URL"])
    try:
        return sorted(client[env["LOGWARDEN_MONGO__DATABASE"]]["window_stats"].find(),
                      key=lambda d: d["_id"])
    finally:
        client.close()


def test_windows_close_once_with_exact_totals_and_replay_changes_nothing(
        isolated: dict[str, str], tmp_path: Path) -> None:
    env = isolated | WINDOW_ENV
    run = env["LOGWARDEN_MONGO__DATABASE"]
    alpha, beta, gamma = f"alpha-{run}", f"beta-{run}", f"gamma-{run}"
    t0 = aligned_past(30)
    events = steady([alpha], t0, 180, 2)
    # beta is silent for the second minute: its 10 s and 60 s windows there are empty
    events += [e for e in steady([beta], t0, 180, 1, error_every=5)
               if not 60 <= e.ts - t0 < 120]
    events += [Event(t0 + 5, gamma, False, 0)]  # one event, then silence
    events.sort(key=lambda e: e.ts)
    services = {alpha, beta, gamma}
    bootstrap = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"]

    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        asyncio.run(produce_lines(bootstrap, env["LOGWARDEN_TOPICS__RAW"], events,
                                  per_message=40))
        want60, want10 = truth(events, 60), truth(events, 10)
        assert wait_until(lambda: non_empty(stored_windows(
            env["LOGWARDEN_MONGO__URL"], run, 60, services)) == want60, 90), (
            f"60 s windows differ from the ground truth; worker log:\n{worker.tail()}")
        assert wait_until(lambda: non_empty(stored_windows(
            env["LOGWARDEN_MONGO__URL"], run, 10, services)) == want10, 30)

        got10 = stored_windows(env["LOGWARDEN_MONGO__URL"], run, 10, services)
        got60 = stored_windows(env["LOGWARDEN_MONGO__URL"], run, 60, services)
        assert got60[(beta, t0 + 60)] == (0, 0)
        assert all(got10[(beta, t0 + s)] == (0, 0) for s in range(60, 120, 10))
        # gamma: empty windows until 60 s of silence after its event (t0+5), then none
        assert {start - t0 for (svc, start), n in got10.items() if svc == gamma} == set(
            range(0, 60, 10))
        assert assert_no_gaps(got10, alpha, t0, 180, 10)

        docs = mongo_docs(env)
        # one more than expected, briefly: a duplicate would show up
        closed = asyncio.run(read_topic(bootstrap, env["LOGWARDEN_TOPICS__WINDOWS_CLOSED"],
                                        len(docs) + 1, 8))
        ids = [c["_id"] for c in closed]
        # empty windows of the silent services may still be closing while we read
        later = {d["_id"] for d in mongo_docs(env)}
        assert len(ids) == len(set(ids)), "a window was emitted twice"
        assert {d["_id"] for d in docs} <= set(ids) <= later, "a window was never emitted"
        routes = [d for d in docs if d["route"] is not None and d["service"] == alpha]
        assert sum(d["events"] for d in routes) == sum(n for (s, _), (n, _) in want60.items()
                                                       if s == alpha)
        latency = next(d for d in docs if d["_id"] == f"{alpha}||60|{t0:.0f}")["latency_ms"]
        assert 5.0 <= latency["p50"] <= latency["p99"] <= 101.0 * 1.01

        cache = Redis.from_url("redis://127.0.0.1:6380/0")
        current = json.loads(cache.get(f"lw:win:{alpha}:60:current") or b"null")
        assert current and current["start"] == t0 + 120 and current["events"] == 120
        cache.close()
    finally:
        worker.stop()

    # Kafka is the source of truth: a fresh consumer group (new app id) replaying
    # logs.events from offset 0 rebuilds MongoDB and Elasticsearch to the same state.
    before = mongo_docs(env)
    index = env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"]
    es_call("POST", f"{env['LOGWARDEN_ELASTICSEARCH__URL']}/{index}/_refresh")
    es_before = es_call("GET", f"{env['LOGWARDEN_ELASTICSEARCH__URL']}/{index}/_count")["count"]
    assert es_before == len(events)
    replay = env | {"LOGWARDEN_WORKER__APP_ID": env["LOGWARDEN_WORKER__APP_ID"] + "-replay",
                    "LOGWARDEN_WORKER__AGENTS": '["index", "aggregate"]'}
    again = Worker(replay, tmp_path / "replay.log")
    again.start()
    try:
        expected_closed = 2 * len(before)
        topic = env["LOGWARDEN_TOPICS__WINDOWS_CLOSED"]
        assert wait_until(lambda: len(asyncio.run(read_topic(
            bootstrap, topic, expected_closed, 5))) >= expected_closed, 90), (
            f"replay incomplete:\n{again.tail()}")
        es_call("POST", f"{env['LOGWARDEN_ELASTICSEARCH__URL']}/{index}/_refresh")
        assert mongo_docs(env) == before
        es_call("POST", f"{env['LOGWARDEN_ELASTICSEARCH__URL']}/{index}/_refresh")
        assert es_call("GET", f"{env['LOGWARDEN_ELASTICSEARCH__URL']}/{index}/_count"
                       )["count"] == es_before
    finally:
        again.stop()


def assert_no_gaps(windows: dict[tuple[str, float], tuple[int, int]], service: str,
                   t0: float, seconds: int, size: int) -> bool:
    """Every window of ``service`` in ``[t0, t0 + seconds)`` is there; any later one is an
    empty window of the silence after its last event (emitted while the idle watermark
    advances, until ``silent_after_s``: how many depends on when the test reads)."""
    starts = sorted(start for (svc, start) in windows if svc == service)
    inside = [start for start in starts if start < t0 + seconds]
    after_empty = all(windows[(service, start)] == (0, 0)
                      for start in starts if start >= t0 + seconds)
    return inside == [t0 + s for s in range(0, seconds, size)] and after_empty
