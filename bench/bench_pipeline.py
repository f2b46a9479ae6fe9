"""End to end: logs.raw -> searchable in Elasticsearch (and, optionally, windows in MongoDB).

Each *trial* runs one subject in a separate worker process, on the ``make up`` services
(Kafka, Elasticsearch, MongoDB on 127.0.0.1), in its own topics, index prefix, consumer
group, MongoDB database and data directory (all named after a fresh run token, all
deleted afterwards). Subjects:

* ``logwarden``: the real worker, ``python -m app.cli worker`` (= ``logwarden worker``),
  configured by ``LOGWARDEN_...`` environment variables as in ``tests/e2e``;
* ``naive``: ``bench/naive_pipeline.py``: one event per agent iteration, one table write
  and one ``es.index`` call per event, same parsers.

Traffic is ``app.generator.LineFactory`` (fixed ``--seed``: every subject gets the same
lines), sent with aiokafka either ``batched`` (the way the generator sends: the lines of
a chunk of ``--batch-lines`` consecutive lines grouped by (source, service, format) into
``lw-batch: json`` messages) or ``single`` (one record per message, ``service`` and
``format`` headers as a plain producer would set them).

Phases of a trial:

1. **Start and warm up.** Start the worker (logwarden: wait for ``/health``), send
   ``--warmup`` events and wait until they are searchable: partitions assigned, index
   created, caches warm.
2. **Throughput.** Generate ``--events`` K lines (event time = generation time, so they
   fall into one or two minutes), note the worker's CPU and the wall clock, produce them
   as fast as aiokafka goes, and poll the document count of the run's alias every 0.25 s
   (no forced refresh: "searchable" means after Elasticsearch's own 1 s refresh) until
   warm-up + K are searchable. With ``--windows`` (logwarden only), also wait until
   MongoDB ``window_stats`` holds, for the minutes these events fall into, ``route:
   null``, ``granularity_s: 60`` windows whose ``events`` sum to the number sent in those
   minutes; that wait includes the window close delay (watermark + grace, or the idle
   timeout ``--idle-after``), so it is reported apart.
   *Events per worker CPU-second* = K / (worker CPU at the end - at the start); CPU is
   ``utime + stime`` of the worker process and its children from ``/proc``, so Kafka's,
   Elasticsearch's and the harness's CPU do not count (but they share the 2 cores).
   *Events/s wall* = K / (time all are searchable - time the first was sent); it
   includes the harness producing K (aiokafka: about 1 s per 40k single messages).
   Beside the worker, the CPU of the dev-stack's Kafka, Elasticsearch and MongoDB (pid
   files under ``.devstack/run``), of the harness and of the whole machine
   (``/proc/stat``) over the same interval is shown as busy cores: it tells a worker
   that waits (on batch timers, Kafka fetches, Elasticsearch) from one starved of CPU.
3. **Latency at a steady rate** of ``--load`` (default 0.5) x the wall rate just
   measured (or ``--rate``), for ``--latency-seconds``: every 0.1 s the harness generates
   that tick's lines with event time = send time and sends them. Of each tick, up to
   ``--samples`` messages are sampled, one record each; its ``event_id`` is computed as
   the worker will (``app.core.ids.event_id`` of topic, partition and offset from the
   producer's acknowledgement, index in the batch). A poller searches the alias for the
   outstanding sample ids (``ids`` query, a real search, not a realtime GET) every 0.1 s;
   a sample's latency is the time the first search that finds it was sent minus its
   send time. So latencies are upper bounds with a resolution of one poll interval plus
   one search round trip (~0.1 s), and include Elasticsearch's refresh interval (1 s).
   Searching by the newest ``ts`` instead would not work here: access and syslog lines
   carry whole seconds only.
4. Peak RSS (``VmHWM``) of the worker, then stop it and delete the run's state.

Subjects and input modes are interleaved over ``--reps``; medians are reported, with
the logwarden / naive ratio when both ran. ``--set section.field=value`` passes a
setting to both workers (e.g. ``ingest.parse_batch_size=8``); ``--fetch-wait-ms`` is an
experiment that overrides the ``fetch_max_wait_ms=1500`` Faust's Kafka driver hard-codes
(see ``bench_faust_cost.py``, subject ``agent-fw``).

Run: ``.venv/bin/python bench/bench_pipeline.py [--events 200000] [--input batched,single]
[--subjects logwarden,naive] [--windows] [--reps 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from _common import (
    REPO,
    Message,
    Sample,
    create_topics,
    delete_es_state,
    delete_kafka_state,
    drop_mongo_database,
    fetch_wait_env,
    median,
    new_token,
    partition_end_total,
    percentile,
    proc_cpu_seconds,
    produce,
    producer,
    service_pids,
    system_jiffies,
    topics_named,
    tree_cpu_seconds,
    tree_peak_rss_mib,
)
from aiokafka import AIOKafkaProducer
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError

from app.core.ids import event_id
from app.core.ingest import BATCH_HEADER, FORMAT_HEADER, SERVICE_HEADER
from app.generator import Line, LineFactory
from app.runner import stop_process, tail, wait_healthy
from app.settings import Settings, TopicSettings, WindowSettings, load_settings

SUBJECTS = ("logwarden", "naive")
INPUTS = ("batched", "single")
NAIVE_APP = REPO / "bench" / "naive_pipeline.py"
WINDOW_COLLECTION = "window_stats"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MEASURED_SERVICES = ("kafka", "elasticsearch", "mongo")  # CPU shown beside the worker's


class TrialError(RuntimeError):
    pass


# ---------------------------------------------------------------- traffic


@dataclass(slots=True)
class Traffic:
    messages: list[Message]
    records: list[int]  # records per message
    minutes: Counter[float] = field(default_factory=Counter)  # minute start -> events

    @property
    def events(self) -> int:
        return sum(self.records)


def generate(factory: LineFactory, count: int) -> tuple[list[Line], Counter[float]]:
    """``count`` lines stamped with the time they are made; events per event-time minute."""
    lines, minutes = [], Counter[float]()
    for _ in range(count):
        now = time.time()
        lines.append(factory.make(now))
        minutes[now - now % 60] += 1
    return lines, minutes


def _headers(service: str, fmt: str | None, batch: bool) -> list[tuple[str, bytes]]:
    headers = [(BATCH_HEADER, b"json")] if batch else []
    headers.append((SERVICE_HEADER, service.encode()))
    if fmt:
        headers.append((FORMAT_HEADER, fmt.encode()))
    return headers


def to_traffic(lines: list[Line], mode: str, chunk: int) -> Traffic:
    """Kafka messages for ``lines``: one per line, or batches as the generator sends them."""
    traffic = Traffic([], [])
    if mode == "single":
        for line in lines:
            traffic.messages.append((line.source.encode(), line.text.encode(),
                                     _headers(line.service, line.fmt, batch=False)))
            traffic.records.append(1)
        return traffic
    for start in range(0, len(lines), chunk):
        groups: dict[tuple[str, str, str | None], list[str]] = {}
        for line in lines[start:start + chunk]:
            groups.setdefault((line.source, line.service, line.fmt), []).append(line.text)
        for (source, service, fmt), texts in groups.items():
            traffic.messages.append((source.encode(), orjson.dumps(texts),
                                     _headers(service, fmt, batch=True)))
            traffic.records.append(len(texts))
    return traffic


def make_traffic(factory: LineFactory, count: int, mode: str, chunk: int) -> Traffic:
    lines, minutes = generate(factory, count)
    traffic = to_traffic(lines, mode, chunk)
    traffic.minutes = minutes
    return traffic


# ---------------------------------------------------------------- isolation


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(token: str, subject: str, args: argparse.Namespace,
                 workdir: Path) -> dict[str, str]:
    """``LOGWARDEN_*`` overrides naming everything after ``token`` (cf. tests/e2e)."""
    env = {
        "LOGWARDEN_KAFKA__PARTITIONS": str(args.partitions),
        "LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX": f"{token}-events",
        "LOGWARDEN_MONGO__DATABASE": token,
        "LOGWARDEN_WORKER__APP_ID": f"{subject}-{token}",
        "LOGWARDEN_WORKER__DATADIR": str(workdir / "data"),
        "LOGWARDEN_WORKER__WEB_HOST": "127.0.0.1",
        "LOGWARDEN_WORKER__WEB_PORT": str(free_port()),
        # the pipeline this benchmark measures (logs.raw -> ES + windows); alerting,
        # delivery and the live tail are other agents with their own benchmarks
        "LOGWARDEN_WORKER__AGENTS": json.dumps(args.agents.split(",")),
    }
    for name, spec in TopicSettings.model_fields.items():
        env[f"LOGWARDEN_TOPICS__{name.upper()}"] = f"{token}.{spec.default}"
    if args.idle_after and "idle_after_s" in WindowSettings.model_fields:
        env["LOGWARDEN_WINDOWS__IDLE_AFTER_S"] = str(args.idle_after)
    for spec in args.set:  # section.field=value, for both subjects
        name, _, value = spec.partition("=")
        section, _, key = name.partition(".")
        env[f"LOGWARDEN_{section.upper()}__{key.upper()}"] = value
    return env


def settings_for(env: dict[str, str]) -> Settings:
    """The settings a worker started with ``os.environ | env`` will load."""
    nested: dict[str, Any] = {}
    for name, value in env.items():
        section, _, key = name.removeprefix("LOGWARDEN_").lower().partition("__")
        # as pydantic-settings does for complex fields: JSON lists stay lists
        parsed = json.loads(value) if value.startswith("[") else value
        nested.setdefault(section, {})[key] = parsed
    return load_settings(None, **nested)


def check_loopback(settings: Settings) -> None:
    hosts = [hp.strip().rpartition(":")[0] for hp in settings.kafka.bootstrap_servers.split(",")]
    hosts += [urlsplit(settings.elasticsearch.url).hostname or "",
              urlsplit(settings.mongo.url).hostname or ""]
    remote = [h for h in hosts if h.strip("[]") not in LOOPBACK]
    if remote:
        raise SystemExit(f"bench_pipeline talks to loopback services only; settings name {remote}")


# ---------------------------------------------------------------- measurements


@dataclass(frozen=True, slots=True)
class Machine:
    """CPU seconds of the dev-stack services and the harness, and of the whole machine."""

    services: dict[str, float]
    busy: int
    total: int

    @classmethod
    def of(cls, pids: dict[str, int]) -> Machine:
        cpu = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
        cpu["harness"] = proc_cpu_seconds(os.getpid(), waited_children=False)
        return cls(cpu, *system_jiffies())

    def cores_since(self, earlier: Machine, wall: float) -> dict[str, float]:
        """Average busy cores per process over the interval, and the machine's ("all")."""
        out = {name: (cpu - earlier.services.get(name, cpu)) / wall
               for name, cpu in self.services.items()}
        ncpu = os.cpu_count() or 1
        out["all"] = (self.busy - earlier.busy) / max(self.total - earlier.total, 1) * ncpu
        return out


@dataclass(slots=True)
class Result:
    subject: str
    mode: str
    events: int
    messages: int
    cpu_s: float
    wall_s: float
    windows_s: float | None = None  # wall until window_stats complete (None: not measured)
    windows_cpu_s: float | None = None
    windows_sum: int | None = None
    windows_expected: int | None = None
    rate: float = 0.0  # latency phase, events/s offered
    latencies: list[float] = field(default_factory=list)
    samples: int = 0
    peak_rss_mib: float = 0.0
    dead_letters: int = 0
    cores: dict[str, float] = field(default_factory=dict)  # throughput phase, busy cores

    @property
    def per_cpu_s(self) -> float:
        return self.events / self.cpu_s if self.cpu_s > 0 else float("inf")

    @property
    def per_wall_s(self) -> float:
        return self.events / self.wall_s


async def searchable(es: AsyncElasticsearch, alias: str) -> int | None:
    """Documents searchable under ``alias``; None while Elasticsearch cannot say (503...)."""
    try:
        return int((await es.count(index=alias))["count"])
    except NotFoundError:
        return 0
    except (ApiError, TransportError):  # e.g. 503 while a new index's shard starts
        return None


class Subject:
    """One worker process and what it needs: env, settings, log, clients."""

    def __init__(self, name: str, mode: str, args: argparse.Namespace) -> None:
        self.name, self.mode, self.args = name, mode, args
        self.token = new_token("pl")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.token}-"))
        self.env = isolated_env(self.token, name, args, self.workdir)
        self.settings = settings_for(self.env)
        check_loopback(self.settings)
        self.log = self.workdir / "worker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.alias = self.settings.elasticsearch.index_prefix
        self.bootstrap = self.settings.kafka.bootstrap_servers

    @property
    def popen(self) -> subprocess.Popen[bytes]:
        assert self.proc is not None
        return self.proc

    @property
    def pid(self) -> int:
        return self.popen.pid

    def start(self) -> None:
        if self.name == "logwarden":
            cmd = [sys.executable, "-m", "app.cli", "worker"]
        else:
            cmd = [sys.executable, str(NAIVE_APP), "worker", "-l", "warn", "--without-web"]
        env = os.environ | self.env
        if self.args.fetch_wait_ms:
            env |= fetch_wait_env(self.args.fetch_wait_ms, self.workdir)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise TrialError(f"{self.name} worker exited; log tail:\n{tail(self.log)}")

    async def dead_letters(self) -> int:
        if self.name != "logwarden":
            return 0
        try:
            return await partition_end_total(self.bootstrap, self.settings.topics.dlq)
        except Exception:  # the count is informative only
            return 0

    async def wait_searchable(self, es: AsyncElasticsearch, want: int, *, stall: float,
                              limit: float) -> tuple[int, int]:
        """Poll until ``want`` documents (minus dead letters) are searchable.

        Raises ``TrialError`` when the count does not move for ``stall`` seconds, after
        ``limit`` seconds, or when the worker dies. Returns (searchable, dead letters).
        """
        started = last_change = checked = time.monotonic()
        last, letters = -1, 0
        while True:
            self.alive()
            count = await searchable(es, self.alias)
            now = time.monotonic()
            if count is None:  # transient; the stall limit still applies
                count = max(last, 0)
            elif count != last:
                last, last_change = count, now
            elif now - last_change > 2.0 and now - checked > 2.0:
                checked = now  # quiet: are the missing ones dead letters?
                letters = await self.dead_letters()
            if count + letters >= want:
                return count, letters
            if now - last_change > stall or now - started > limit:
                raise TrialError(f"{self.name}: {count} of {want} searchable "
                                 f"({letters} dead letters) after {now - started:.0f}s; "
                                 f"log tail:\n{tail(self.log)}")
            await asyncio.sleep(0.25)

    async def wait_windows(self, es: AsyncElasticsearch, minutes: Counter[float],
                           timeout: float) -> tuple[int, bool]:
        """Sum of ``events`` of the service-level 60 s windows of ``minutes`` in MongoDB."""
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            self.settings.mongo.url, serverSelectionTimeoutMS=5000)
        windows = client[self.settings.mongo.database][WINDOW_COLLECTION]
        want = sum(minutes.values())
        query = {"route": None, "granularity_s": 60, "start": {"$in": list(minutes)}}
        deadline = time.monotonic() + timeout
        total = 0
        try:
            while True:
                self.alive()
                total = sum([int(doc.get("events") or 0)
                             async for doc in windows.find(query, {"events": 1})])
                if total >= want or time.monotonic() > deadline:
                    return total, total >= want
                await searchable(es, self.alias)  # keeps the index from going search-idle
                await asyncio.sleep(0.5)
        finally:
            await client.close()

    async def cleanup(self) -> None:
        if self.proc is not None:
            await asyncio.to_thread(stop_process, self.proc)
        s = self.settings
        await delete_kafka_state(self.bootstrap, self.token)
        await delete_es_state(s.elasticsearch.url, s.elasticsearch.index_prefix)
        await drop_mongo_database(s.mongo.url, s.mongo.database)
        shutil.rmtree(self.workdir, ignore_errors=True)


async def run_trial(name: str, mode: str, args: argparse.Namespace) -> Result:
    subject = Subject(name, mode, args)
    raw = subject.settings.topics.raw
    es = AsyncElasticsearch(subject.settings.elasticsearch.url, request_timeout=30)
    # logs.raw compressed as logwarden's own producers (generator, shipper, ...) send it
    prod = producer(subject.bootstrap, subject.settings.kafka.producer_compression)
    try:
        topics = [getattr(subject.settings.topics, n) for n in TopicSettings.model_fields]
        await create_topics(subject.bootstrap, topics, args.partitions)
        await prod.start()
        subject.start()
        if name == "logwarden":
            web = f"http://127.0.0.1:{subject.settings.worker.web_port}"
            healthy = await asyncio.to_thread(wait_healthy, web, subject.popen,
                                              args.startup_timeout)
            if not healthy:
                raise TrialError(f"logwarden worker not healthy; log tail:\n{tail(subject.log)}")
        factory = LineFactory(args.seed, clients=args.clients)

        # 1. warm-up: assignment done, indices created, caches warm
        warm = make_traffic(factory, args.warmup, mode, args.batch_lines)
        await produce(prod, raw, warm.messages)
        await subject.wait_searchable(es, warm.events, stall=args.startup_timeout,
                                      limit=args.startup_timeout)

        # 2. throughput: K events as fast as they can be produced
        bulk = make_traffic(factory, args.events, mode, args.batch_lines)
        pids = {k: v for k, v in service_pids().items() if k in MEASURED_SERVICES}
        machine, before = Machine.of(pids), Sample.of(subject.pid)
        await produce(prod, raw, bulk.messages)
        _, letters = await subject.wait_searchable(
            es, warm.events + bulk.events, stall=args.stall_timeout,
            limit=args.stall_timeout + bulk.events / 50)
        after = Sample.of(subject.pid)
        result = Result(name, mode, bulk.events, len(bulk.messages), after.cpu - before.cpu,
                        after.wall - before.wall, dead_letters=letters)
        result.cores = Machine.of(pids).cores_since(machine, result.wall_s)
        result.cores["worker"] = result.cpu_s / result.wall_s
        busy = ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.cores.items()))
        print(f"    {name} {mode}: {bulk.events:,} events in {len(bulk.messages):,} messages "
              f"searchable after {result.wall_s:.1f}s, worker CPU {result.cpu_s:.1f}s; "
              f"busy cores: {busy}", flush=True)
        if name == "logwarden":
            print("    " + await internal_messages(subject), flush=True)
        if args.windows and name == "logwarden":
            minutes = warm.minutes + bulk.minutes
            total, complete = await subject.wait_windows(es, minutes, args.windows_timeout)
            done = Sample.of(subject.pid)
            result.windows_sum, result.windows_expected = total, sum(minutes.values())
            result.windows_s, result.windows_cpu_s = done.wall - before.wall, done.cpu - before.cpu
            print(f"    windows: {total:,} of {result.windows_expected:,} events in "
                  f"window_stats after {result.windows_s:.1f}s"
                  + ("" if complete else " (TIMEOUT)"), flush=True)

        # 3. latency at a steady fraction of the rate just measured
        if args.latency_seconds > 0:
            result.rate = args.rate or args.load * result.per_wall_s
            result.latencies, result.samples = await latency_phase(
                subject, es, prod, factory, result.rate, args)
        result.peak_rss_mib = tree_peak_rss_mib(subject.pid)
        return result
    finally:
        await prod.stop()
        await es.close()
        await subject.cleanup()


async def internal_messages(subject: Subject) -> str:
    """Messages written to ``logs.events`` and to the tables' changelogs so far (each
    message a consuming agent touches costs it Faust's per-message overhead)."""
    events = subject.settings.topics.events
    changelogs = [t for t in await topics_named(subject.bootstrap, subject.token)
                  if t.endswith("-changelog")]
    counts = {"logs.events": await partition_end_total(subject.bootstrap, events)}
    for topic in sorted(changelogs):
        counts[topic.rsplit("-", 2)[-2]] = await partition_end_total(subject.bootstrap, topic)
    return "messages written: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())


async def latency_phase(subject: Subject, es: AsyncElasticsearch, prod: AIOKafkaProducer,
                        factory: LineFactory, rate: float, args: argparse.Namespace
                        ) -> tuple[list[float], int]:
    """Send ``rate`` events/s for ``args.latency_seconds``; return sampled latencies."""
    topic, tick = subject.settings.topics.raw, 0.1
    rng = random.Random(args.seed)
    sent_at: dict[str, float] = {}  # sampled event id -> send time (= its event time)
    found_at: dict[str, float] = {}
    sending = asyncio.Event()
    sending.set()
    poller = asyncio.create_task(poll_samples(es, subject.alias, sent_at, found_at, sending))
    carry, sent, started = 0.0, 0, time.monotonic()
    try:
        while time.monotonic() - started < args.latency_seconds:
            subject.alive()
            tick_started = time.monotonic()
            carry += rate * tick
            count, carry = int(carry), carry - int(carry)
            now = time.time()
            lines = [factory.make(now) for _ in range(count)]
            traffic = to_traffic(lines, subject.mode, max(count, 1))
            futures = [await prod.send(topic, key=k, value=v, headers=h)
                       for k, v, h in traffic.messages]
            metas = await asyncio.gather(*futures)
            picks = rng.sample(range(len(metas)), min(args.samples, len(metas)))
            for i in picks:
                index = rng.randrange(traffic.records[i])
                sent_at[event_id(topic, metas[i].partition, metas[i].offset, index)] = now
            sent += count
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - tick_started)))
        elapsed = time.monotonic() - started
        sending.clear()
        with contextlib.suppress(TimeoutError):  # the last samples: bounded wait
            await asyncio.wait_for(poller, timeout=args.stall_timeout)
    finally:
        poller.cancel()
    latencies = [found_at[e] - sent_at[e] for e in found_at]
    print(f"    latency: {sent:,} events at {sent / elapsed:,.0f}/s (asked {rate:,.0f}/s), "
          f"{len(found_at)} of {len(sent_at)} samples found, "
          f"p50 {percentile(latencies, 50):.2f}s p99 {percentile(latencies, 99):.2f}s",
          flush=True)
    return latencies, len(sent_at)


async def poll_samples(es: AsyncElasticsearch, alias: str, sent_at: dict[str, float],
                       found_at: dict[str, float], sending: asyncio.Event,
                       interval: float = 0.1) -> None:
    """Search for outstanding sample ids until sending stopped and all were found."""
    while sending.is_set() or len(found_at) < len(sent_at):
        pending = [e for e in sent_at if e not in found_at][:1000]
        if pending:
            asked = time.time()
            try:
                response = await es.search(index=alias, query={"ids": {"values": pending}},
                                           size=len(pending), source=False)
            except (NotFoundError, ApiError, TransportError):
                response = None  # not yet; asked again next round
            if response is not None:
                for hit in response["hits"]["hits"]:
                    found_at.setdefault(hit["_id"], asked)
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- report


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or value != value else format(value, spec)


def report(results: list[Result], args: argparse.Namespace) -> None:
    extra = "".join(f"; {x}" for x in args.set)
    if args.fetch_wait_ms:
        extra += f"; fetch_max_wait_ms forced to {args.fetch_wait_ms}"
    print(f"\n{args.events:,} events per trial, {args.reps} rep(s), {args.partitions} "
          f"partitions{extra}; worker CPU from /proc (utime+stime, incl. children); medians")
    print(f"{'subject':10} {'input':8} {'msgs':>8} {'ev/CPU-s':>9} {'ev/s wall':>10} "
          f"{'windows s':>9} {'lat rate':>9} {'p50 s':>6} {'p99 s':>6} {'samples':>8} "
          f"{'RSS MiB':>8} {'DLQ':>4}")
    table: dict[tuple[str, str], dict[str, float]] = {}
    for mode in INPUTS:
        for name in SUBJECTS:
            runs = [r for r in results if r.subject == name and r.mode == mode]
            if not runs:
                continue
            lat = [x for r in runs for x in r.latencies]
            windows = [r.windows_s for r in runs if r.windows_s is not None]
            row = table[name, mode] = {
                "cpu": median([r.per_cpu_s for r in runs]),
                "wall": median([r.per_wall_s for r in runs]),
            }
            print(f"{name:10} {mode:8} {median([r.messages for r in runs]):8,.0f} "
                  f"{row['cpu']:9,.0f} {row['wall']:10,.0f} "
                  f"{fmt(median(windows) if windows else None, '9.1f'):>9} "
                  f"{fmt(median([r.rate for r in runs]) if lat else None, '9,.0f'):>9} "
                  f"{fmt(percentile(lat, 50), '6.2f'):>6} {fmt(percentile(lat, 99), '6.2f'):>6} "
                  f"{len(lat):>4}/{sum(r.samples for r in runs):<3} "
                  f"{median([r.peak_rss_mib for r in runs]):8.0f} "
                  f"{sum(r.dead_letters for r in runs):4}")
    names = sorted({k for r in results for k in r.cores})
    if names:
        print("busy cores during the throughput phase (CPU s / wall s; 'all' = whole machine):")
        print(f"{'subject':10} {'input':8} " + " ".join(f"{n:>13}" for n in names))
        for mode in INPUTS:
            for name in SUBJECTS:
                runs = [r for r in results if r.subject == name and r.mode == mode]
                if runs:
                    print(f"{name:10} {mode:8} " + " ".join(
                        f"{median([r.cores.get(n, 0.0) for r in runs]):13.2f}" for n in names))
    for mode in INPUTS:
        ours, naive = table.get(("logwarden", mode)), table.get(("naive", mode))
        if ours and naive:
            print(f"logwarden / naive, {mode}: {ours['cpu'] / naive['cpu']:.1f}x events per "
                  f"CPU-second, {ours['wall'] / naive['wall']:.1f}x events/s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="K, events per trial")
    parser.add_argument("--input", default="batched", help="batched, single or both (a,b)")
    parser.add_argument("--subjects", default="logwarden", help="logwarden, naive or both")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--agents", default="parse,index,aggregate",
                        help="worker.agents of the logwarden subject (comma-separated)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=5000,
                        help="client addresses of the generated access lines (a Zipf-like "
                             "pool; more: more addresses the GeoIP enricher sees first)")
    parser.add_argument("--partitions", type=int, default=Settings().kafka.partitions)
    parser.add_argument("--batch-lines", type=int, default=1000,
                        help="batched input: consecutive lines grouped into messages")
    parser.add_argument("--warmup", type=int, default=2000, help="events before measuring")
    parser.add_argument("--windows", action="store_true",
                        help="also wait for window_stats in MongoDB (logwarden)")
    parser.add_argument("--idle-after", type=float, default=5.0,
                        help="LOGWARDEN_WINDOWS__IDLE_AFTER_S for the worker (0: default)")
    parser.add_argument("--windows-timeout", type=float, default=240.0)
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="0: skip")
    parser.add_argument("--load", type=float, default=0.5,
                        help="latency phase rate as a fraction of the measured wall rate")
    parser.add_argument("--rate", type=float, default=0.0, help="latency phase events/s")
    parser.add_argument("--samples", type=int, default=5, help="sampled events per 0.1 s")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="extra worker setting, e.g. ingest.parse_batch_size=50")
    parser.add_argument("--fetch-wait-ms", type=int, default=0,
                        help="experiment: force aiokafka fetch_max_wait_ms in the worker "
                             "(Faust hard-codes 1500; see bench_faust_cost.py agent-fw)")
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    parser.add_argument("--stall-timeout", type=float, default=60.0)
    args = parser.parse_args()
    inputs = ["batched", "single"] if args.input == "both" else args.input.split(",")
    subjects = list(SUBJECTS) if args.subjects == "both" else args.subjects.split(",")
    if set(inputs) - set(INPUTS) or set(subjects) - set(SUBJECTS):
        parser.error(f"inputs are {INPUTS}, subjects {SUBJECTS}")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on SIGTERM too
    # aiokafka warns while a new topic's leaders settle, then retries: not news here
    logging.getLogger("aiokafka").setLevel(logging.ERROR)

    results: list[Result] = []
    for rep in range(args.reps):
        for mode in inputs:
            for name in subjects:
                print(f"rep {rep + 1}: {name}, {mode} input", flush=True)
                try:
                    results.append(asyncio.run(run_trial(name, mode, args)))
                except TrialError as exc:
                    print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
                except Exception as exc:  # one broken trial must not hide the others
                    print(f"    FAILED: {type(exc).__name__}: {exc}", file=sys.stderr,
                          flush=True)
    report(results, args)


if __name__ == "__main__":
    main()
