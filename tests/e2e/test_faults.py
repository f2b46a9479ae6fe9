"""Nothing lost, nothing doubled: faults injected mid-stream on the real services.

Each test produces the same known traffic (over 50,000 events of 8 services over ten
minutes of event time, at a throttled rate so the fault lands mid-stream), injects one
fault, then checks the end state against the ground truth computed from the input:

* Elasticsearch holds exactly one document per event (no loss, no duplicate);
* MongoDB's 10 s and 60 s service windows hold exactly the true event and error counts;
* ``windows.closed`` carries every MongoDB window, once — or, after a crash, possibly
  again but identical (consumers dedupe by ``_id``).

After the traffic, one event per ``logs.events`` partition, two minutes later in event
time, moves every partition's watermark past the traffic's last window, so the test does
not wait for idle advance (disabled here: an outage must not close windows early).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Worker, es_call, free_port, read_raw_topic, read_topic
from tests.e2e.traffic import (
    Event,
    aligned_past,
    non_empty,
    produce_lines,
    services_per_partition,
    steady,
    stored_windows,
    truth,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PARTITIONS = 4
FAULT_ENV = {
    "LOGWARDEN_KAFKA__PARTITIONS": str(PARTITIONS),
    "LOGWARDEN_WINDOWS__GRACE_S": "2",
    "LOGWARDEN_WINDOWS__IDLE_AFTER_S": "3600",
    "LOGWARDEN_WINDOWS__CLOSE_INTERVAL_S": "0.5",
    "LOGWARDEN_WINDOWS__BATCH_WAIT_S": "0.2",
    "LOGWARDEN_ELASTICSEARCH__MAX_BACKOFF_S": "2",
    "LOGWARDEN_MONGO__MAX_BACKOFF_S": "2",
}
SECONDS, PER_SECOND, PER_MESSAGE = 600, 11, 100  # 8 services -> 52,800 events
PRODUCE_S = 25.0  # wall time over which the traffic is spread


class Run:
    """One fault test's traffic, worker(s) and checks."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = env | FAULT_ENV
        self.tmp = tmp_path
        run = self.env["LOGWARDEN_MONGO__DATABASE"]
        self.services = {f"svc{i}-{run}" for i in range(8)}
        t0 = aligned_past(60)
        self.events = steady(sorted(self.services), t0, SECONDS, PER_SECOND)
        assert len(self.events) >= 50_000
        flush_ts = t0 + SECONDS + 120
        self.flush = [Event(flush_ts, name, False, i) for i, name in
                      enumerate(services_per_partition(PARTITIONS, f"flush-{run}"))]
        self.workers: list[Worker] = []
        self._producer: threading.Thread | None = None
        self.produced = 0
        self.error: BaseException | None = None

    # -- workers ----------------------------------------------------------------------
    def start_worker(self, **overrides: str) -> Worker:
        n = len(self.workers)
        env = self.env | overrides
        worker = Worker(env, self.tmp / f"worker{n}.log")
        worker.start()
        self.workers.append(worker)
        return worker

    def second_member(self) -> dict[str, str]:
        return {"LOGWARDEN_WORKER__WEB_PORT": str(free_port()),
                "LOGWARDEN_WORKER__DATADIR": str(self.tmp / "data-second")}

    def logs(self) -> str:
        return "\n".join(f"--- {w.log.name}\n{w.tail(40)}" for w in self.workers)

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()

    # -- traffic ----------------------------------------------------------------------
    def produce_in_background(self) -> None:
        everything = self.events + self.flush
        messages = (len(everything) + PER_MESSAGE - 1) // PER_MESSAGE
        delay = PRODUCE_S / messages

        def pace(i: int) -> float:
            return delay

        def work() -> None:
            try:
                self.produced = asyncio.run(produce_lines(
                    self.env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
                    self.env["LOGWARDEN_TOPICS__RAW"], everything,
                    per_message=PER_MESSAGE, pace=pace, timeout_s=600))
            except BaseException as exc:  # reported by the test thread
                self.error = exc

        self._producer = threading.Thread(target=work, daemon=True)
        self._producer.start()

    def wait_produced(self, timeout_s: float = 600) -> None:
        assert self._producer is not None
        self._producer.join(timeout_s)
        assert self.error is None, f"producing failed: {self.error!r}"
        assert self.produced == len(self.events) + len(self.flush)

    # -- checks -----------------------------------------------------------------------
    def es_count(self) -> int:
        url, index = (self.env["LOGWARDEN_ELASTICSEARCH__URL"],
                      self.env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"])
        es_call("POST", f"{url}/{index}/_refresh")
        return int(es_call("GET", f"{url}/{index}/_count").get("count", -1))

    def where_missing(self) -> str:
        """Which events Elasticsearch lacks, and where they sit in ``logs.events``."""
        from app.core.eventbatch import decode_event_batch

        url, index = (self.env["LOGWARDEN_ELASTICSEARCH__URL"],
                      self.env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"])
        indexed: set[str] = set()
        after: list[Any] | None = None
        while True:  # bounded: each page is non-empty until the index is exhausted
            body: dict[str, Any] = {"size": 10_000, "_source": ["message"],
                                    "sort": [{"event_id": "asc"}]}
            if after is not None:
                body["search_after"] = after
            hits = es_call("POST", f"{url}/{index}/_search", body).get("hits", {}).get("hits", [])
            if not hits:
                break
            indexed.update(h["_source"].get("message", "") for h in hits)
            after = hits[-1]["sort"]
        expected = {json.loads(e.line())["message"] for e in self.events + self.flush}
        missing = expected - indexed
        places: dict[tuple[int, int], list[int]] = {}
        for partition, offset, value in asyncio.run(read_raw_topic(
                self.env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
                self.env["LOGWARDEN_TOPICS__EVENTS"], 15)):
            messages = [d.get("message") for d in decode_event_batch(value)]
            lost = sum(m in missing for m in messages)
            if lost:
                places[(partition, offset)] = [lost, len(messages)]
        on_topic = sum(n for n, _ in places.values())
        return (f"{len(missing)} events missing; {on_topic} of them are on logs.events "
                f"(partition, offset: [missing, events in the message]): {places}")

    def windows(self, size: int) -> dict[tuple[str, float], tuple[int, int]]:
        return non_empty(stored_windows(self.env["LOGWARDEN_MONGO__URL"],
                                        self.env["LOGWARDEN_MONGO__DATABASE"], size,
                                        self.services))

    def check(self, *, exactly_once: bool, timeout_s: float = 300) -> None:
        self.wait_produced()
        total = len(self.events) + len(self.flush)
        assert wait_until(lambda: self.es_count() >= total, timeout_s, 2), (
            f"Elasticsearch has {self.es_count()} of {total} documents\n"
            f"{self.where_missing()}\n{self.logs()}")
        want60, want10 = truth(self.events, 60), truth(self.events, 10)
        assert wait_until(lambda: self.windows(60) == want60, timeout_s, 2), (
            f"60 s windows differ from the ground truth:\n{diff(self.windows(60), want60)}\n"
            f"{self.logs()}")
        assert self.windows(10) == want10, diff(self.windows(10), want10)
        time.sleep(3)  # windows.closed is sent right after the MongoDB upsert
        assert self.es_count() == total, "a document was indexed twice"
        self.check_closed_topic(exactly_once)

    def check_closed_topic(self, exactly_once: bool) -> None:
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]] = MongoClient(self.env["LOGWARDEN_MONGO__URL"])
        try:
            docs = {d["_id"]: d for d in client[self.env["LOGWARDEN_MONGO__DATABASE"]][
                "window_stats"].find({"service": {"$in": sorted(self.services)}})}
        finally:
            client.close()
        closed = [c for c in asyncio.run(read_topic(
            self.env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
            self.env["LOGWARDEN_TOPICS__WINDOWS_CLOSED"], 10**9, 15))
            if c["service"] in self.services]
        ids = [c["_id"] for c in closed]
        assert set(ids) == set(docs), "a window was never emitted on windows.closed"
        if exactly_once:
            assert len(ids) == len(set(ids)), "a window was emitted twice"
        first: dict[str, dict[str, Any]] = {}
        for window in closed:  # a second emission (after a crash) must be identical
            assert first.setdefault(window["_id"], window) == window
            stored = {k: v for k, v in docs[window["_id"]].items() if k != "end_at"}
            assert stored == window


def diff(got: dict[Any, Any], want: dict[Any, Any]) -> str:
    keys = sorted(set(got) | set(want))
    lines = [f"{k}: got {got.get(k)} want {want.get(k)}" for k in keys
             if got.get(k) != want.get(k)]
    return "\n".join(lines[:20]) + (f"\n... {len(lines) - 20} more" if len(lines) > 20 else "")


@pytest.fixture()
def run(isolated: dict[str, str], tmp_path: Path) -> Iterator[Run]:
    r = Run(isolated, tmp_path)
    try:
        yield r
    finally:
        r.stop_all()


def devstack(action: str, service: str) -> None:
    subprocess.run([sys.executable, "-m", "app.devstack", action, service], check=True,
                   timeout=300, stdout=subprocess.DEVNULL)


def outage(service: str, seconds: float) -> None:
    """Stop a dev-stack service, wait, start it again (its data stays on disk)."""
    devstack("down", service)
    try:
        time.sleep(seconds)
    finally:
        devstack("up", service)


def mid_stream(after_s: float, fault: Callable[[], None]) -> None:
    time.sleep(after_s)
    fault()


def test_kill_9_mid_stream_then_restart(run: Run) -> None:
    worker = run.start_worker()
    run.produce_in_background()
    assert worker.proc is not None
    proc = worker.proc
    mid_stream(8, lambda: os.killpg(proc.pid, signal.SIGKILL))
    proc.wait(30)
    run.start_worker()  # same app id and data dir: recovers its tables from the changelog
    run.check(exactly_once=False)


def test_elasticsearch_down_30s_mid_stream(run: Run) -> None:
    run.start_worker()
    run.produce_in_background()
    time.sleep(6)
    outage("elasticsearch", 30)
    run.check(exactly_once=True)


def test_mongodb_unavailable_30s_mid_stream(run: Run) -> None:
    """mongo-java-server keeps its data in memory, so the outage is a frozen server
    (SIGSTOP/SIGCONT): connections hang and time out, as in a network partition."""
    from app.devstack import services

    run.start_worker()
    run.produce_in_background()
    time.sleep(6)
    pid = services.get("mongo").running_pid()
    assert pid is not None, "MongoDB is not running under the dev stack"
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(30)
    finally:
        os.kill(pid, signal.SIGCONT)
    run.check(exactly_once=True)


def test_kafka_broker_restart_mid_stream(run: Run) -> None:
    run.start_worker()
    run.produce_in_background()
    time.sleep(8)
    outage("kafka", 5)
    run.check(exactly_once=False)


def test_scale_out_and_in_mid_stream(run: Run) -> None:
    run.start_worker()
    run.produce_in_background()
    time.sleep(5)
    second = run.start_worker(**run.second_member())  # joins: a rebalance
    time.sleep(10)
    second.stop()  # leaves gracefully: another rebalance
    run.check(exactly_once=True)
