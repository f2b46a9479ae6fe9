"""Helpers shared by the process-level benchmarks (``bench_faust_cost``, ``bench_pipeline``).

* CPU and memory of another process (and its children) from ``/proc``, so that the
  broker's, Elasticsearch's and the harness's own CPU never count;
* unique run tokens, and the cleanup of everything a run created in Kafka (topics,
  consumer groups), Elasticsearch (indices, template) and MongoDB (database) by token;
* fast producing with aiokafka (futures gathered per chunk, never awaited one by one).

Every address is loopback: the benchmarks talk to the ``make up`` services only.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")

Headers = list[tuple[str, bytes]]
Message = tuple[bytes | None, bytes, Headers]  # key, value, headers


def new_token(kind: str) -> str:
    """A run id usable in topic, index, group and database names (lowercase, no dots)."""
    return f"lwb{kind}{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------- /proc accounting


def _stat(pid: int) -> list[str]:
    """Fields of ``/proc/<pid>/stat`` after the command name (field 3, ``state``, first)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def proc_cpu_seconds(pid: int, *, waited_children: bool = True) -> float:
    """utime + stime (+ cutime + cstime: children it waited for) of ``pid``, all threads."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    if waited_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16, 17)
    return ticks / CLK_TCK


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (scans ``/proc``; a worker has few or none)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and every live descendant (plus the children they already reaped)."""
    total = 0.0
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            total += proc_cpu_seconds(member)
    return total


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_peak_rss_mib(pid: int) -> float:
    """Sum of ``VmHWM`` (peak resident set) over ``pid`` and its live descendants."""
    total = 0
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            total += _status_kib(member, "VmHWM")
    return total / 1024


def service_pids() -> dict[str, int]:
    """Live dev-stack services (``make up`` writes ``.devstack/run/<name>/<name>.pid``)."""
    out = {}
    for pidfile in sorted((REPO / ".devstack" / "run").glob("*/*.pid")):
        try:
            pid = int(pidfile.read_text().split()[0])
            proc_cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            continue
        out[pidfile.stem] = pid
    return out


def system_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass(frozen=True, slots=True)
class Sample:
    """Wall clock and a process tree's CPU at one instant."""

    wall: float
    cpu: float

    @classmethod
    def of(cls, pid: int) -> Sample:
        return cls(time.monotonic(), tree_cpu_seconds(pid))


# ---------------------------------------------------------------- processes


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once ``path`` exists; False on timeout or when ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if proc.poll() is not None:
            return path.exists()
        time.sleep(0.1)
    return False


# ---------------------------------------------------------------- Kafka

#: Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500``. A fetch that names only
#: partitions without new data (Faust's own ``<app>-__assignor-__leader`` topic, idle
#: partitions) is then held by the broker for up to 1.5 s, and the consumer cannot fetch
#: the busy partitions meanwhile. The experiments below override it in the worker.
FETCH_WAIT_ENV = "LWBENCH_FETCH_MAX_WAIT_MS"
FETCH_WAIT_PATCH = f"""\
import os

import aiokafka

_wait = int(os.environ.get("{FETCH_WAIT_ENV}") or 0)
if _wait:
    _init = aiokafka.AIOKafkaConsumer.__init__

    def _patched(self, *args, **kwargs):
        kwargs["fetch_max_wait_ms"] = _wait
        _init(self, *args, **kwargs)

    aiokafka.AIOKafkaConsumer.__init__ = _patched
"""


def patch_fetch_wait(ms: int) -> None:
    """In this process: every ``AIOKafkaConsumer`` made from now on waits ``ms`` at most."""
    os.environ[FETCH_WAIT_ENV] = str(ms)
    exec(compile(FETCH_WAIT_PATCH, "<fetch-wait patch>", "exec"), {})


def fetch_wait_env(ms: int, workdir: Path) -> dict[str, str]:
    """Environment that applies the patch in a child process (via ``sitecustomize``)."""
    (workdir / "sitecustomize.py").write_text(FETCH_WAIT_PATCH)
    path = os.pathsep.join(p for p in (str(workdir), os.environ.get("PYTHONPATH", "")) if p)
    return {FETCH_WAIT_ENV: str(ms), "PYTHONPATH": path}



async def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, num_partitions=partitions, replication_factor=1)
                   for n in names if n not in existing]
        if missing:
            await admin.create_topics(missing)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # producers retry otherwise (NotLeader...)
            described = await admin.describe_topics([t.name for t in missing])
            if all(p["leader"] >= 0 for d in described for p in d["partitions"]):
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def topics_named(bootstrap: str, token: str) -> list[str]:
    """The topics whose name contains ``token``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        return await _topics_named(admin, token)
    finally:
        await admin.close()


async def _topics_named(admin: AIOKafkaAdminClient, token: str) -> list[str]:
    return [t for t in await admin.list_topics() if token in t]


async def delete_kafka_state(bootstrap: str, token: str) -> list[str]:
    """Delete the topics and (empty) consumer groups whose name contains ``token``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        topics = await _topics_named(admin, token)
        if topics:
            await admin.delete_topics(topics)
        groups = [g[0] for g in await admin.list_consumer_groups() if token in g[0]]
        for group in groups:
            await _delete_group(admin, group)
        return topics + groups
    finally:
        await admin.close()


async def _delete_group(admin: AIOKafkaAdminClient, group: str) -> None:
    """DeleteGroups has no public aiokafka call; a group with live members stays (expires)."""
    from aiokafka.protocol.admin import DeleteGroupsRequest

    with contextlib.suppress(Exception):
        node = await admin.find_coordinator(group)
        await admin._send_request(DeleteGroupsRequest([group]), node)


async def partition_end_total(bootstrap: str, topic: str) -> int:
    """Sum of the end offsets of ``topic`` (how many messages were ever written to it)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


def producer(bootstrap: str, compression: str | None = None) -> AIOKafkaProducer:
    """The benchmarks' producer; ``compression`` as ``kafka.producer_compression``."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                            max_batch_size=256 * 1024, max_request_size=4 * 1024 * 1024,
                            compression_type=compression)


async def produce(prod: AIOKafkaProducer, topic: str, messages: Sequence[Message],
                  chunk: int = 5000) -> list[Any]:
    """Send ``messages`` in order; return their ``RecordMetadata`` (partition, offset)."""
    metas: list[Any] = []
    for start in range(0, len(messages), chunk):
        futures = [await prod.send(topic, key=k, value=v, headers=h)
                   for k, v, h in messages[start:start + chunk]]
        metas += await asyncio.gather(*futures)
    return metas


# ---------------------------------------------------------------- Elasticsearch, MongoDB


async def delete_es_state(url: str, prefix: str) -> None:
    """Delete the indices ``<prefix>-*`` and the index template named ``prefix``."""
    from elasticsearch import AsyncElasticsearch, NotFoundError

    es = AsyncElasticsearch(url, request_timeout=30)
    try:
        await es.indices.delete(index=f"{prefix}-*", allow_no_indices=True,
                                expand_wildcards="all")
        with contextlib.suppress(NotFoundError):
            await es.indices.delete_index_template(name=prefix)
    finally:
        await es.close()


async def drop_mongo_database(url: str, database: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=5000)
    try:
        with contextlib.suppress(Exception):
            await client.drop_database(database)
    finally:
        await client.close()


# ---------------------------------------------------------------- small things


async def poll_until(check: Callable[[], Awaitable[bool]], *, interval: float,
                     timeout: float) -> bool:
    """Await ``check()`` every ``interval`` s until it is true (True) or ``timeout`` (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
