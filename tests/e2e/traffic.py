"""Traffic of known content for window and fault tests, and its ground truth.

Events are JSON log lines with an explicit ``ts`` (event time), a service, a level and
an HTTP status; an event is an error when its level is ``error`` (and its status 500).
The ground truth counts events and errors per (service, window) straight from the list,
without the project's own window code.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pymongo import MongoClient


@dataclass(frozen=True)
class Event:
    ts: float
    service: str
    error: bool
    seq: int

    def line(self) -> bytes:
        return json.dumps({
            "ts": datetime.fromtimestamp(self.ts, tz=UTC).isoformat(timespec="milliseconds"),
            "service": self.service, "level": "error" if self.error else "info",
            "message": f"request {self.seq} {'failed' if self.error else 'ok'}",
            "http": {"method": "GET", "path": f"/items/{self.seq % 50}",
                     "status": 500 if self.error else 200,
                     "latency_ms": 5.0 + self.seq % 97},
        }).encode()


def aligned_past(minutes_ago: int) -> float:
    """A minute boundary ``minutes_ago`` minutes before now."""
    return float(math.floor(time.time() / 60) * 60 - minutes_ago * 60)


def steady(services: Iterable[str], t0: float, seconds: float, per_second: float,
           error_every: int = 13) -> list[Event]:
    """``per_second`` events per service in ``[t0, t0 + seconds)``, in time order."""
    names = list(services)
    step = 1.0 / per_second
    n = int(seconds * per_second)
    out = [Event(t0 + i * step, name, (i * len(names) + k) % error_every == 0,
                 i * len(names) + k)
           for i in range(n) for k, name in enumerate(names)]
    return out


def truth(events: Iterable[Event], size: int) -> dict[tuple[str, float], tuple[int, int]]:
    """(events, errors) per (service, window start) of ``size`` seconds."""
    counts: Counter[tuple[str, float]] = Counter()
    errors: Counter[tuple[str, float]] = Counter()
    for event in events:
        key = (event.service, event.ts - event.ts % size)
        counts[key] += 1
        errors[key] += event.error
    return {key: (n, errors[key]) for key, n in counts.items()}


def stored_windows(mongo_url: str, database: str, size: int,
                   services: set[str]) -> dict[tuple[str, float], tuple[int, int]]:
    """(events, errors) per (service, start) of the service-level windows in MongoDB."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        docs = client[database]["window_stats"].find(
            {"route": None, "granularity_s": size, "service": {"$in": sorted(services)}})
        return {(d["service"], float(d["start"])): (int(d["events"]), int(d["errors"]))
                for d in docs}
    finally:
        client.close()


def non_empty(windows: dict[tuple[str, float], tuple[int, int]]
              ) -> dict[tuple[str, float], tuple[int, int]]:
    return {k: v for k, v in windows.items() if v[0]}


def services_per_partition(partitions: int, prefix: str = "flush") -> list[str]:
    """One service name per partition of ``logs.events`` (keyed by service)."""
    partitioner = DefaultPartitioner()
    found: dict[int, str] = {}
    i = 0
    while len(found) < partitions:
        name = f"{prefix}-{i}"
        found.setdefault(partitioner(name.encode(), list(range(partitions)),
                                     list(range(partitions))), name)
        i += 1
    return [found[p] for p in range(partitions)]


async def produce_lines(bootstrap: str, topic: str, events: list[Event], *, per_message: int,
                        pace: Callable[[int], float] | None = None,
                        timeout_s: float = 300) -> int:
    """Send events as ``lw-batch: lines`` messages of ``per_message`` JSON lines.

    ``pace(i)`` may return seconds to sleep before message ``i`` (for mid-stream
    faults). Retries until the broker acknowledged each message (Kafka restarts).
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                request_timeout_ms=30000, retry_backoff_ms=500)
    deadline = time.monotonic() + timeout_s
    await producer.start()
    sent = 0
    try:
        for i, start in enumerate(range(0, len(events), per_message)):
            if pace is not None:
                delay = pace(i)
                if delay:
                    await asyncio.sleep(delay)
            chunk = events[start:start + per_message]
            value = b"\n".join(e.line() for e in chunk)
            while True:
                try:
                    await producer.send_and_wait(
                        topic, value=value, key=b"traffic",  # one partition: in order
                        headers=[("lw-batch", b"lines"), ("format", b"json")])
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(1)
            sent += len(chunk)
    finally:
        await producer.stop()
    return sent


def wait_until(check: Callable[[], bool], timeout_s: float, every_s: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every_s)
    return check()
