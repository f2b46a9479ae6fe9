"""Worker memory against window state: RSS with S services x 60 open windows each.

Issue 4's target: "worker RSS bounded by state: <= 300 MB for 1,000 services x 60
windows". Each *trial* starts one real worker (``python -m app.cli worker``) in its own
topics, consumer group, MongoDB database, index prefix and data directory (named after a
fresh run token and deleted afterwards, as in ``bench_pipeline.py``, whose ``Subject``
this reuses), on the ``make up`` services on 127.0.0.1. The worker runs only the
``parse`` and ``aggregate`` agents (``LOGWARDEN_WORKER__AGENTS='["parse","aggregate"]'``):
the Elasticsearch bulk indexer's buffers would otherwise be part of the figure, and they
do not depend on the number of open windows.

Windows are configured so that nothing closes while the trial runs:
``windows.service_sizes_s=[10]``, ``windows.grace_s=900`` (larger than the 600 s the
events span) and ``windows.idle_after_s=3600``. ``--routes 0`` adds no route windows
(``route_sizes_s=[]``); ``--routes 60`` also keeps (service, route) windows of 60 s (each
service logs on 4 routes, so 10 minutes x 4 routes = 40 more windows per service).

A trial:

1. start the worker, wait for ``/health``; send ``--warmup`` events of one service
   (``warmup``) and wait until the aggregate agent has folded them
   (``logwarden_records_in_total{agent="aggregate"}`` on the worker's ``/metrics``);
   wait ``--settle`` s; read ``VmRSS`` and ``VmHWM`` of the worker (and its children)
   from ``/proc``: the trial's *baseline*;
2. send S services (``svc-0000``...) x 60 ten-second windows x ``--per-window`` events,
   JSON application log lines whose event times cover the last 600 s, in ``lw-batch:
   json`` messages of up to ``--batch-lines`` lines of one service (keyed by service, as
   the generator sends); wait until all are folded, ``--settle`` s more, then read
   ``VmRSS``/``VmHWM`` again and ``logwarden_windows_open`` (set by the closer each
   second);
3. ask the worker for a breakdown (a ``sitecustomize`` thread in the worker, started by
   this benchmark only): the window table's key count and deep size (``sys.getsizeof``
   over the values' dicts, lists, strings and numbers), and gc-tracked objects by type
   (``gc.freeze()`` at start-up leaves start-up objects out of that count). With
   ``--tracemalloc`` the worker runs under ``PYTHONTRACEMALLOC=1`` and the thread also
   dumps a snapshot; the harness then lists the biggest growth between the baseline and
   the loaded state by source line (tracemalloc costs memory itself: RSS figures of such
   a run are not the worker's normal RSS).

Each S gets a fresh worker (same order as ``--services``). Reported: baseline RSS, RSS
with state, the difference, VmHWM, open windows, and a least-squares line through
(S, RSS with state): MiB per 1,000 services x 60 windows and the total at 1,000.

Run: ``.venv/bin/python bench/bench_window_memory.py [--services 0,250,1000,2000]
[--routes 0] [--per-window 2] [--tracemalloc]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import time
import tracemalloc
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from _common import (
    Message,
    _status_kib,
    create_topics,
    descendants,
    produce,
    producer,
)
from bench_pipeline import Subject, TrialError

from app.core.events import iso_utc
from app.core.ingest import BATCH_HEADER, SERVICE_HEADER
from app.runner import tail, wait_healthy
from app.settings import Settings, TopicSettings

WINDOWS_PER_SERVICE = 60
WINDOW_S = 10
SPAN_S = WINDOWS_PER_SERVICE * WINDOW_S  # 600 s of event time
ROUTES = ("/api/items", "/api/items/{id}", "/api/orders", "/api/orders/{id}/pay")
MIB = 1024 * 1024

#: Runs inside the worker (``sitecustomize`` on its PYTHONPATH): answers dump requests
#: (``<label>.req`` files in ``LWBENCH_DUMP_DIR``) with ``<label>.json`` (+ ``.snap``).
DUMP_HOOK = """\
import os
import threading

_DIR = os.environ.get("LWBENCH_DUMP_DIR")


def _deep(obj, seen):
    import sys
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            size += _deep(k, seen) + _deep(v, seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in list(obj):
            size += _deep(v, seen)
    return size


def _dump(folder, label):
    import gc
    import json
    import sys
    import tracemalloc
    out = {}
    if tracemalloc.is_tracing():  # first: the walks below allocate (``seen`` sets)
        out["traced"] = tracemalloc.get_traced_memory()
        tracemalloc.take_snapshot().dump(os.path.join(folder, label + ".snap"))
    counts = {}
    objects = gc.get_objects()
    for o in objects:
        t = type(o)
        name = f"{t.__module__}.{t.__qualname__}"
        counts[name] = counts.get(name, 0) + 1
    out["gc_objects"] = len(objects)
    out["gc_frozen"] = gc.get_freeze_count()
    del objects
    out["gc_types"] = sorted(counts.items(), key=lambda kv: -kv[1])[:25]
    mod = sys.modules.get("tables.windows")
    if mod is not None:
        store = mod.window_table.data
        data = getattr(store, "data", store)
        items = list(data.items())
        kinds = {}
        seen = set()
        for key, value in items:
            kind = str(key)[:2]
            n, b = kinds.get(kind, (0, 0))
            kinds[kind] = (n + 1, b + _deep(key, seen) + _deep(value, seen))
        parts = {}
        for key, value in items:  # where a window's bytes go (shared objects count once)
            if not (str(key).startswith("w|") and isinstance(value, dict)):
                continue
            for name, sub in value.items():
                subs = sub.items() if name == "s" and isinstance(sub, dict) else [("", sub)]
                for inner, obj in subs:
                    part = f"{name}.{inner}" if inner else name
                    parts[part] = parts.get(part, 0) + _deep(obj, set())
            parts["(outer dict)"] = parts.get("(outer dict)", 0) + sys.getsizeof(value)
            if isinstance(value.get("s"), dict):
                parts["(s dict)"] = parts.get("(s dict)", 0) + sys.getsizeof(value["s"])
        out["window_parts"] = parts
        out["table_keys"] = len(items)
        out["table_kinds"] = kinds
        out["table_dict_bytes"] = sys.getsizeof(data)
        book = getattr(mod, "book", None)
        parsed = getattr(book, "_parsed", None)
        if parsed is not None:
            out["parsed_cache_keys"] = len(parsed)
            out["parsed_cache_bytes"] = _deep(parsed, set())
    return out


def _loop(folder):
    import json
    import time
    while True:
        time.sleep(0.3)
        for name in os.listdir(folder):
            if not name.endswith(".req"):
                continue
            label = name[:-4]
            try:
                out = _dump(folder, label)
            except Exception as exc:
                out = {"error": repr(exc)}
            with open(os.path.join(folder, label + ".json"), "w") as fh:
                json.dump(out, fh)
            os.remove(os.path.join(folder, name))


if _DIR:
    threading.Thread(target=_loop, args=(_DIR,), daemon=True, name="lwbench-dump").start()
"""


# ---------------------------------------------------------------- traffic


def service_lines(service: str, start0: float, per_window: int, seq: int) -> list[str]:
    """``per_window`` JSON log lines in each of the 60 windows from ``start0``."""
    lines = []
    for j in range(WINDOWS_PER_SERVICE):
        for i in range(per_window):
            ts = start0 + j * WINDOW_S + (i + 0.5) * WINDOW_S / per_window
            n = seq + j * per_window + i
            route = ROUTES[n % len(ROUTES)]
            status = 500 if n % 17 == 0 else 200
            doc = {
                "@timestamp": iso_utc(ts), "level": "ERROR" if status >= 500 else "INFO",
                "service": service, "host": f"{service}-1",
                "message": "upstream timeout" if status >= 500 else "request completed",
                "http": {"method": "GET", "path": route.replace("{id}", str(n % 997)),
                         "status": status, "latency_ms": 5.0 + n % 300,
                         "bytes": 200 + n % 5000},
            }
            lines.append(orjson.dumps(doc).decode())
    return lines


def messages_for(services: list[str], start0: float, per_window: int,
                 batch_lines: int) -> list[Message]:
    out: list[Message] = []
    for s, service in enumerate(services):
        lines = service_lines(service, start0, per_window, s)
        headers = [(BATCH_HEADER, b"json"), (SERVICE_HEADER, service.encode())]
        for i in range(0, len(lines), batch_lines):
            out.append((f"{service}-app".encode(), orjson.dumps(lines[i:i + batch_lines]),
                        list(headers)))
    return out


def warmup_messages(count: int, now: float) -> list[Message]:
    lines = [orjson.dumps({"@timestamp": iso_utc(now - 5 + i * 0.01), "level": "INFO",
                           "service": "warmup", "message": "warm-up",
                           "http": {"method": "GET", "path": "/warm", "status": 200,
                                    "latency_ms": 1.0, "bytes": 10}}).decode()
             for i in range(count)]
    headers = [(BATCH_HEADER, b"json"), (SERVICE_HEADER, b"warmup")]
    return [(b"warmup-app", orjson.dumps(lines), headers)]


# ---------------------------------------------------------------- measurement


def tree_status_mib(pid: int, field_name: str) -> float:
    total = 0
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            total += _status_kib(member, field_name)
    return total / 1024


def metric(web: str, name: str, labels: str = "") -> float | None:
    """One sample of the worker's ``/metrics`` (None if absent or unreachable)."""
    try:
        with urllib.request.urlopen(f"{web}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    pattern = re.compile(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", re.M)
    found = pattern.search(text)
    return float(found.group(1)) if found else None


async def wait_folded(subject: Subject, web: str, want: int, timeout: float) -> float:
    """Until the aggregate agent has taken ``want`` events; returns seconds waited."""
    started = time.monotonic()
    folded = 0.0
    while time.monotonic() - started < timeout:
        subject.alive()
        value = await asyncio.to_thread(metric, web, "logwarden_records_in_total",
                                        '{agent="aggregate"}')
        folded = value or 0.0
        if folded >= want:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise TrialError(f"only {folded:.0f} of {want} events folded after {timeout:.0f}s; "
                     f"log tail:\n{tail(subject.log)}")


async def request_dump(folder: Path, label: str, timeout: float = 120.0) -> dict[str, Any]:
    out = folder / f"{label}.json"
    (folder / f"{label}.req").write_text("")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and not (folder / f"{label}.req").exists():
            return dict(json.loads(out.read_text()))
        await asyncio.sleep(0.3)
    return {"error": "no dump within the timeout"}


@dataclass(slots=True)
class Result:
    services: int
    events: int
    fold_s: float
    base_rss: float
    rss: float
    hwm: float
    open_windows: float | None
    dump: dict[str, Any] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)  # tracemalloc growth, formatted

    @property
    def delta(self) -> float:
        return self.rss - self.base_rss


async def rss_settled(pid: int, settle: float) -> float:
    """VmRSS after ``settle`` s, median of three readings 1 s apart."""
    await asyncio.sleep(settle)
    readings = []
    for _ in range(3):
        readings.append(tree_status_mib(pid, "VmRSS"))
        await asyncio.sleep(1.0)
    return sorted(readings)[1]


async def run_trial(services: int, args: argparse.Namespace) -> Result:
    subject = Subject("logwarden", "batched", args)
    dump_dir = subject.workdir / "dumps"
    dump_dir.mkdir()
    hook_dir = subject.workdir / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(DUMP_HOOK)
    path = os.pathsep.join(p for p in (str(hook_dir), os.environ.get("PYTHONPATH", "")) if p)
    subject.env |= {"PYTHONPATH": path, "LWBENCH_DUMP_DIR": str(dump_dir)}
    if args.tracemalloc:
        subject.env["PYTHONTRACEMALLOC"] = "1"
    raw = subject.settings.topics.raw
    web = f"http://127.0.0.1:{subject.settings.worker.web_port}"
    prod = producer(subject.bootstrap)
    try:
        topics = [getattr(subject.settings.topics, n) for n in TopicSettings.model_fields]
        await create_topics(subject.bootstrap, topics, args.partitions)
        await prod.start()
        subject.start()
        if not await asyncio.to_thread(wait_healthy, web, subject.popen, args.startup_timeout):
            raise TrialError(f"worker not healthy; log tail:\n{tail(subject.log)}")

        now = time.time()
        await produce(prod, raw, warmup_messages(args.warmup, now))
        await wait_folded(subject, web, args.warmup, args.startup_timeout)
        base_rss = await rss_settled(subject.pid, args.settle)
        base_dump = await request_dump(dump_dir, "base")

        start0 = now - now % WINDOW_S - SPAN_S  # 60 whole windows ending at the current one
        names = [f"svc-{i:04d}" for i in range(services)]
        messages = messages_for(names, start0, args.per_window, args.batch_lines)
        events = services * WINDOWS_PER_SERVICE * args.per_window
        await produce(prod, raw, messages)
        fold_s = await wait_folded(subject, web, args.warmup + events,
                                   args.stall_timeout + events / 1000)
        rss = await rss_settled(subject.pid, args.settle)
        hwm = tree_status_mib(subject.pid, "VmHWM")
        open_windows = await asyncio.to_thread(metric, web, "logwarden_windows_open")
        dump = await request_dump(dump_dir, "state")
        result = Result(services, events, fold_s, base_rss, rss, hwm, open_windows, dump)
        if args.tracemalloc:
            result.top = tracemalloc_growth(dump_dir / "base.snap", dump_dir / "state.snap",
                                            args.top)
        dump["base_gc_objects"] = base_dump.get("gc_objects")
        dump["base_traced"] = base_dump.get("traced")
        print(f"    S={services:,}: {events:,} events folded in {fold_s:.1f}s; RSS "
              f"{base_rss:.1f} -> {rss:.1f} MiB (+{result.delta:.1f}), VmHWM {hwm:.1f} MiB, "
              f"open windows {open_windows}", flush=True)
        return result
    finally:
        await prod.stop()
        await subject.cleanup()


def tracemalloc_growth(before: Path, after: Path, top: int) -> list[str]:
    if not (before.exists() and after.exists()):
        return [f"(no tracemalloc snapshot; {before.parent} holds "
                f"{sorted(p.name for p in before.parent.iterdir())})"]
    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    noise = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diffs = new.filter_traces(noise).compare_to(old.filter_traces(noise), "lineno")
    out = []
    for stat in diffs[:top]:
        frame = stat.traceback[0]
        name = frame.filename
        for marker in ("/site-packages/", "/work/main/"):
            if marker in name:
                name = name.split(marker, 1)[1]
        out.append(f"{stat.size_diff / MIB:8.2f} MiB {stat.count_diff:+10,} blocks  "
                   f"{name}:{frame.lineno}")
    return out


# ---------------------------------------------------------------- report


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of ``points``."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - slope * mx, slope


def report(results: list[Result], args: argparse.Namespace) -> None:
    routes = f"route windows {args.routes} s" if args.routes else "no route windows"
    print(f"\nworker agents parse,aggregate; service windows 10 s, {routes}; "
          f"{args.per_window} events per window; grace 900 s, idle_after 3600 s; "
          f"{args.partitions} partitions" + ("; PYTHONTRACEMALLOC=1" if args.tracemalloc
                                              else ""))
    print(f"{'services':>8} {'events':>8} {'open win':>9} {'fold s':>7} {'base RSS':>9} "
          f"{'RSS':>8} {'+state':>8} {'VmHWM':>8} {'tbl keys':>9} {'tbl MiB':>8}")
    for r in results:
        kinds = r.dump.get("table_kinds", {})
        table_mib = sum(b for _, b in kinds.values()) / MIB if kinds else float("nan")
        print(f"{r.services:8,} {r.events:8,} {r.open_windows or 0:9,.0f} {r.fold_s:7.1f} "
              f"{r.base_rss:9.1f} {r.rss:8.1f} {r.delta:8.1f} {r.hwm:8.1f} "
              f"{r.dump.get('table_keys', 0):9,} {table_mib:8.1f}")
    if len({r.services for r in results}) >= 2:
        intercept, slope = fit([(r.services, r.rss) for r in results])
        d_int, d_slope = fit([(r.services, r.delta) for r in results])
        print(f"RSS ~ {intercept:.1f} MiB + {slope * 1000:.1f} MiB per 1,000 services x 60 "
              f"windows (fit over RSS); state above each trial's own baseline: "
              f"{d_slope * 1000:.1f} MiB per 1,000 (intercept {d_int:.1f}); "
              f"at 1,000 services: {intercept + slope * 1000:.1f} MiB "
              f"({(intercept + slope * 1000) * MIB / 1e6:.0f} MB)")
    for r in results:
        if not r.services:
            continue
        d = r.dump
        print(f"\nS={r.services:,}: window table {d.get('table_keys', 0):,} keys; by kind "
              "(keys, deep MiB): " + ", ".join(
                  f"{k!r} {n:,} {b / MIB:.1f}" for k, (n, b) in
                  sorted(d.get("table_kinds", {}).items())))
        print(f"    table dict itself {d.get('table_dict_bytes', 0) / MIB:.1f} MiB; "
              f"WindowBook parsed-key cache {d.get('parsed_cache_keys', 0):,} keys "
              f"{d.get('parsed_cache_bytes', 0) / MIB:.1f} MiB; gc-tracked objects "
              f"{d.get('base_gc_objects')} -> {d.get('gc_objects')} "
              f"(+{d.get('gc_frozen')} frozen at start-up)")
        parts, windows = d.get("window_parts", {}), r.open_windows or 0
        if parts and windows:
            print("    per open window, deep bytes by state field (each alone): " + ", ".join(
                f"{k} {v / windows:,.0f}" for k, v in sorted(parts.items(),
                                                          key=lambda kv: -kv[1])))
        print("    gc-tracked objects by type: " + ", ".join(
            f"{name} {n:,}" for name, n in d.get("gc_types", [])[:12]))
        if d.get("traced"):
            print(f"    tracemalloc traced (current, peak) MiB: "
                  f"{tuple(round(x / MIB, 1) for x in d.get('base_traced') or ())} -> "
                  f"{tuple(round(x / MIB, 1) for x in d['traced'])}")
        if r.top:
            print("    biggest growth base -> state (tracemalloc, by line):")
            for line in r.top:
                print("      " + line)
        if d.get("error"):
            print(f"    dump error: {d['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default="0,250,1000,2000",
                        help="S per trial, comma-separated (a fresh worker each)")
    parser.add_argument("--routes", type=int, default=0,
                        help="route window size in s (0: no route windows)")
    parser.add_argument("--per-window", type=int, default=2, help="events per window")
    parser.add_argument("--batch-lines", type=int, default=60,
                        help="lines per lw-batch message (all of one service)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up events (one service)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after the last fold before reading RSS")
    parser.add_argument("--partitions", type=int, default=Settings().kafka.partitions)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="run the worker with PYTHONTRACEMALLOC=1 (breakdown by line)")
    parser.add_argument("--top", type=int, default=15, help="tracemalloc lines shown")
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    parser.add_argument("--stall-timeout", type=float, default=120.0)
    args = parser.parse_args()
    window_set = [f"windows.service_sizes_s=[{WINDOW_S}]",
                  f"windows.route_sizes_s=[{args.routes}]" if args.routes
                  else "windows.route_sizes_s=[]",
                  "windows.grace_s=900"]
    # what bench_pipeline.Subject reads from its namespace
    args.agents, args.idle_after, args.set, args.fetch_wait_ms = (
        "parse,aggregate", 3600.0, window_set, 0)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up on SIGTERM too
    logging.getLogger("aiokafka").setLevel(logging.ERROR)

    results: list[Result] = []
    for services in [int(s) for s in args.services.split(",")]:
        print(f"trial: {services:,} services x {WINDOWS_PER_SERVICE} windows", flush=True)
        try:
            results.append(asyncio.run(run_trial(services, args)))
        except TrialError as exc:
            print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
        except Exception as exc:  # one broken trial must not hide the others
            print(f"    FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    if results:
        report(results, args)


if __name__ == "__main__":
    main()
