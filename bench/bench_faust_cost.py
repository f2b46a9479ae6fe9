"""Faust's own cost per Kafka message, re-measured on the project's real Kafka.

PERF-NOTES.md quotes ~175 us of CPU per message for faust-streaming 0.15.3 (5-6k msg/s
per core, 2.7k with one table write per message), but measured against Tansu, a
Kafka-compatible broker. This benchmark repeats the measurement against the ``make up``
Apache Kafka (127.0.0.1:9092):

1. ``--messages`` M raw messages of ``--size`` bytes (generated app-log JSON lines,
   padded) are produced once, with aiokafka, to a fresh topic of this run;
2. each subject then runs in its **own worker process**, as a fresh consumer group
   reading that topic from the beginning:

   * ``agent``: a Faust agent iterating events one by one, doing nothing;
   * ``table``: the same with one ``Table`` write per message (``table[key] += 1``,
     memory store: the cost is Faust's table machinery and its changelog record);
   * ``take``: a Faust agent taking ``stream.take_events(500, within=1)`` batches;
   * ``getmany``: a bare ``AIOKafkaConsumer.getmany`` loop, for scale;
   * ``agent-fw`` (not run by default): ``agent`` with aiokafka's ``fetch_max_wait_ms``
     forced to ``--fetch-wait-ms`` (50) instead of the 1500 Faust's driver hard-codes.
     On real Kafka, a fetch naming only partitions without new data (Faust's own
     ``<app>-__assignor-__leader`` partition is one) is held by the broker up to that
     long, and the busy partition waits behind it: ``agent`` then idles about a second
     every two 1 MiB fetches, so its wall rate is far below what its CPU cost allows;

3. the child notes wall time and its own CPU (``utime + stime`` of ``/proc/<pid>/stat``,
   every thread, so Faust's consumer thread counts) at the first message it gets and when
   it has seen all M; start-up and the group join are outside that interval and are
   reported apart. Kafka's CPU does not count; its work competes for the same 2 cores.

Reported: CPU us per message (median over ``--reps``, subjects interleaved), messages
per CPU-second, messages/s wall, the worker's and the whole machine's busy cores over
the interval (``/proc/stat``: a worker far below 1.0 while the machine is near 2.0 was
starved of CPU, not idle by design), seconds from process start to the first message,
peak RSS (VmHWM). The topic, the Faust internal topics and changelogs, and the consumer
groups of the run are deleted at the end.

Run: ``.venv/bin/python bench/bench_faust_cost.py [--messages 200000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    Message,
    create_topics,
    delete_kafka_state,
    median,
    new_token,
    patch_fetch_wait,
    proc_cpu_seconds,
    produce,
    producer,
    system_jiffies,
    tree_cpu_seconds,
    tree_peak_rss_mib,
    wait_for_file,
)

from app.generator import SERVICES, LineFactory
from app.runner import stop_process, tail

SUBJECTS = ("agent", "table", "take", "getmany", "agent-fw")
DEFAULT_SUBJECTS = ("agent", "table", "take", "getmany")
TAKE_SIZE, TAKE_WITHIN = 500, 1.0


# ---------------------------------------------------------------- child (the worker)


class Meter:
    """Counts messages; notes wall time and own CPU at the first and the M-th one."""

    def __init__(self, want: int, out: Path, started: float) -> None:
        self.want, self.out, self.started = want, out, started
        self.count = 0
        # wall, own CPU, machine (busy, total) jiffies, messages in the first delivery
        self.first: tuple[float, float, tuple[int, int], int] | None = None

    def add(self, n: int) -> None:
        if self.first is None:
            self.first = (time.monotonic(), proc_cpu_seconds(os.getpid()), system_jiffies(), n)
        before = self.count
        self.count += n
        if before < self.want <= self.count:
            wall, cpu, (busy, total) = (time.monotonic(), proc_cpu_seconds(os.getpid()),
                                        system_jiffies())
            first_wall, first_cpu, (first_busy, first_total), first_n = self.first
            tmp = self.out.with_suffix(".tmp")
            tmp.write_text(json.dumps({
                "messages": self.count - first_n,  # processed inside the interval
                "wall_s": wall - first_wall, "cpu_s": cpu - first_cpu,
                "startup_s": first_wall - self.started, "startup_cpu_s": first_cpu,
                "machine_cores": (busy - first_busy) / max(total - first_total, 1)
                * (os.cpu_count() or 1),
            }))
            tmp.rename(self.out)


def run_child(args: argparse.Namespace) -> None:
    meter = Meter(args.messages, Path(args.out), time.monotonic())
    if args.child == "getmany":
        asyncio.run(_getmany(args, meter))
        return
    if args.child == "agent-fw":
        patch_fetch_wait(args.fetch_wait_ms)
    import faust

    app = faust.App(
        args.group, broker=f"kafka://{args.bootstrap}", store="memory://",
        datadir=args.datadir, topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest", web_enabled=False, autodiscover=False)
    topic = app.topic(args.topic, key_type=bytes, value_type=bytes, key_serializer="raw",
                      value_serializer="raw")
    if args.child in ("agent", "agent-fw"):
        @app.agent(topic, name="noop")
        async def noop(stream: Any) -> None:
            async for _event in stream.events():
                meter.add(1)
    elif args.child == "table":
        counts = app.Table("counts", default=int, partitions=args.partitions)

        @app.agent(topic, name="count")
        async def count(stream: Any) -> None:
            async for event in stream.events():
                counts[event.key] += 1
                meter.add(1)
    elif args.child == "take":
        @app.agent(topic, name="take")
        async def take(stream: Any) -> None:
            async for batch in stream.take_events(TAKE_SIZE, within=TAKE_WITHIN):
                meter.add(len(batch))
    else:
        raise SystemExit(f"unknown subject {args.child}")
    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()


async def _getmany(args: argparse.Namespace, meter: Meter) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(args.topic, bootstrap_servers=args.bootstrap,
                                group_id=args.group, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while True:  # runs until the parent stops it, like a worker
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            n = sum(len(records) for records in batches.values())
            if n:
                meter.add(n)
    finally:
        await consumer.stop()


# ---------------------------------------------------------------- parent (the harness)


def payloads(count: int, size: int, seed: int) -> list[Message]:
    factory = LineFactory(seed)
    now = time.time()
    out: list[Message] = []
    for i in range(count):
        service = SERVICES[i % len(SERVICES)]
        text = factory._app(now, service).text
        out.append((service.encode(), text.ljust(size).encode(), []))
    return out


def run_subject(args: argparse.Namespace, subject: str, topic: str, token: str,
                rep: int, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{subject}-{rep}.json"
    log = workdir / f"{subject}-{rep}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", subject,
           "--topic", topic, "--group", f"{token}-{subject}-{rep}",
           "--bootstrap", args.bootstrap, "--messages", str(args.messages),
           "--partitions", str(args.partitions), "--out", str(out),
           "--datadir", str(workdir / f"data-{subject}-{rep}"),
           "--fetch-wait-ms", str(args.fetch_wait_ms)]
    with log.open("wb") as handle:
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        if not wait_for_file(out, proc, args.timeout):
            raise RuntimeError(f"{subject}: no result within {args.timeout:g}s "
                               f"(exit {proc.poll()}); log tail:\n{tail(log)}")
        result: dict[str, Any] = json.loads(out.read_text())
        result["total_cpu_s"] = tree_cpu_seconds(proc.pid)
        result["peak_rss_mib"] = tree_peak_rss_mib(proc.pid)
        return result
    finally:
        stop_process(proc)


async def _prepare(args: argparse.Namespace, topic: str) -> float:
    await create_topics(args.bootstrap, [topic], args.partitions)
    messages = payloads(args.messages, args.size, args.seed)
    prod = producer(args.bootstrap)
    await prod.start()
    try:
        started = time.monotonic()
        await produce(prod, topic, messages)
        return time.monotonic() - started
    finally:
        await prod.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=300, help="bytes per message (padded)")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--subjects", default=",".join(DEFAULT_SUBJECTS),
                        help=f"from {', '.join(SUBJECTS)}")
    parser.add_argument("--fetch-wait-ms", type=int, default=50,
                        help="agent-fw: aiokafka fetch_max_wait_ms instead of Faust's 1500")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="seconds per subject run (default: 120 + 2 ms per message)")
    parser.add_argument("--child", choices=SUBJECTS, help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--datadir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    if not args.bootstrap.startswith("127.0.0.1:"):
        parser.error("the benchmark only talks to a loopback broker")
    args.timeout = args.timeout or 120 + args.messages * 0.002
    subjects = [s for s in args.subjects.split(",") if s]
    unknown = set(subjects) - set(SUBJECTS)
    if unknown:
        parser.error(f"unknown subjects {sorted(unknown)}; choose from {SUBJECTS}")

    token = new_token("fc")
    topic = f"{token}.bench"
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in subjects}
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on SIGTERM too
    with tempfile.TemporaryDirectory(prefix=f"{token}-") as tmp:
        try:
            seconds = asyncio.run(_prepare(args, topic))
            print(f"topic {topic}: {args.messages:,} messages of {args.size} B, "
                  f"{args.partitions} partition(s), produced in {seconds:.1f}s "
                  f"({args.messages / seconds:,.0f} msg/s, aiokafka)", flush=True)
            for rep in range(args.reps):
                for subject in subjects:
                    result = run_subject(args, subject, topic, token, rep, Path(tmp))
                    results[subject].append(result)
                    n = result["messages"]
                    print(f"  rep {rep + 1} {subject:8} {result['cpu_s'] / n * 1e6:8.1f} us/msg "
                          f"{n / result['wall_s']:9,.0f} msg/s wall, worker busy "
                          f"{result['cpu_s'] / result['wall_s']:.2f} cores, machine "
                          f"{result['machine_cores']:.2f} (first message after "
                          f"{result['startup_s']:.1f}s)", flush=True)
        finally:
            removed = asyncio.run(delete_kafka_state(args.bootstrap, token))
            print(f"cleanup: deleted {len(removed)} topics/groups of run {token}")
    report(results, args)


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    print(f"\n{args.messages:,} messages x {args.size} B, {args.partitions} partition(s), "
          f"{args.reps} interleaved rep(s); worker CPU = utime+stime from /proc, "
          "first to last message")
    print(f"{'subject':10} {'CPU us/msg':>10} {'msg/CPU-s':>10} {'msg/s wall':>11} "
          f"{'vs agent':>9} {'worker cores':>12} {'machine cores':>13} {'start s':>8} "
          f"{'start CPU s':>12} {'peak RSS MiB':>13}")
    base = None
    for subject, runs in results.items():
        if not runs:
            continue
        us = median([r["cpu_s"] / r["messages"] * 1e6 for r in runs])
        wall = median([r["messages"] / r["wall_s"] for r in runs])
        if subject == "agent":
            base = us
        ratio = f"{us / base:8.2f}x" if base else f"{'-':>9}"
        print(f"{subject:10} {us:10.1f} {1e6 / us:10,.0f} {wall:11,.0f} {ratio} "
              f"{median([r['cpu_s'] / r['wall_s'] for r in runs]):12.2f} "
              f"{median([r['machine_cores'] for r in runs]):13.2f} "
              f"{median([r['startup_s'] for r in runs]):8.1f} "
              f"{median([r['startup_cpu_s'] for r in runs]):12.2f} "
              f"{median([r['peak_rss_mib'] for r in runs]):13.0f}")


if __name__ == "__main__":
    main()
