"""Parse + enrich throughput per format, against a naive baseline, on generated lines.

For each format, the same generated lines go through:

* ``naive``: what a first implementation would do — a named-group regex and
  ``datetime.strptime`` for text formats, stdlib ``json`` + ``strptime`` for JSON lines,
  building a plain dict;
* ``logwarden``: the real ingest core — the format's parser from the catalog and the
  default enrichment pipeline (severity, route templating, service resolution, field
  extraction, user agent, GeoIP, templates, service metadata), producing the canonical
  event; and ``+doc``, the same plus rendering the document sent to Kafka and ES.

CPU time per line (``time.process_time``), subjects interleaved in every repetition,
median over repetitions; one process, one core. Caches warm up on a first pass, as in
a long-running worker (GeoIP, user agents and templates are cached by value).

Run: ``.venv/bin/python bench/bench_ingest.py [--lines 1000000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from app.core.enrichment.registry import build_pipeline
from app.core.parsing import FormatDetector, RecordContext
from app.generator import LineFactory

EPOCH = 1_795_000_000.0

NAIVE_ACCESS = re.compile(
    r'(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<size>\d+|-)'
    r'(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?P<rest>.*)$')
NAIVE_SYSLOG = re.compile(
    r"<(?P<pri>\d+)>(?P<time>\w{3} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<tag>[^:\[]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$", re.S)
NAIVE_PYTHON = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (?P<logger>\S+) - (?P<level>\w+) - "
    r"(?P<msg>.*)$", re.S)
NAIVE_LOGFMT = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def naive_json(line: str) -> dict[str, Any]:
    doc = json.loads(line)
    doc["ts"] = datetime.strptime(doc["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    return doc


def naive_access(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = NAIVE_ACCESS.match(line).groupdict()  # type: ignore[union-attr]
    doc["ts"] = datetime.strptime(doc["time"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
    doc["status"] = int(doc["status"])
    doc["size"] = 0 if doc["size"] == "-" else int(doc["size"])
    return doc


def naive_syslog(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = NAIVE_SYSLOG.match(line).groupdict()  # type: ignore[union-attr]
    doc["ts"] = datetime.strptime(f"2026 {doc['time']}", "%Y %b %d %H:%M:%S").timestamp()
    doc["pri"] = int(doc["pri"])
    return doc


def naive_python(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = NAIVE_PYTHON.match(line).groupdict()  # type: ignore[union-attr]
    doc["ts"] = datetime.strptime(doc["time"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return doc


def naive_logfmt(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = {k: v.strip('"') for k, v in NAIVE_LOGFMT.findall(line)}
    doc["ts"] = datetime.strptime(doc["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    return doc


def corpus(name: str, lines: int, seed: int = 1) -> list[str]:
    factory = LineFactory(seed)
    def stamps() -> Iterator[float]:
        for i in range(lines):
            yield EPOCH + i * 0.005
    if name == "json":
        return [factory._app(t, ("checkout", "auth", "search", "payments")[int(t) % 4]).text
                for t in stamps()]
    if name == "http_access":
        return [factory._access(t).text for t in stamps()]
    if name == "syslog":
        return [factory._auth(t).text for t in stamps()]
    if name == "python":
        return [factory._python(t).text for t in stamps()]
    if name == "logfmt":
        out = []
        for t in stamps():
            doc = json.loads(factory._app(t, "checkout").text)
            http = doc["http"]
            out.append(f'ts={doc["@timestamp"]} level={doc["level"]} service={doc["service"]} '
                       f'method={http["method"]} path={http["path"]} status={http["status"]} '
                       f'duration={http["latency_ms"]}ms msg="{doc["message"]}"')
        return out
    raise ValueError(name)


NAIVE: dict[str, Callable[[str], object]] = {
    "json": naive_json, "http_access": naive_access, "syslog": naive_syslog,
    "python": naive_python, "logfmt": naive_logfmt,
}


def cpu_per_line(fn: Callable[[str], object], lines: list[str]) -> float:
    gc.collect()
    started = time.process_time()
    for line in lines:
        fn(line)
    return (time.process_time() - started) / len(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--formats", default="json,http_access,syslog,python,logfmt")
    args = parser.parse_args()
    detector = FormatDetector()
    pipeline = build_pipeline()
    ctx = RecordContext(event_id="e", observed_ts=EPOCH + 3600, service=None,
                        source_name="bench")

    print(f"{args.lines:,} lines per format, {args.reps} interleaved reps, CPU time, 1 core")
    print(f"{'format':12} {'subject':12} {'ns/line':>9} {'lines/CPU-s':>12} {'vs naive':>9}")
    for name in args.formats.split(","):
        lines = corpus(name, args.lines)

        def ours(line: str, fmt: str = name) -> object:
            event = detector.parse(line, ctx, fmt)
            pipeline.run(event)
            return event

        def ours_doc(line: str, fmt: str = name) -> object:
            event = detector.parse(line, ctx, fmt)
            pipeline.run(event)
            return event.to_doc()

        subjects = {"naive": NAIVE[name], "logwarden": ours, "+doc": ours_doc}
        for line in lines[: min(len(lines), 200_000)]:
            ours(line)  # warm caches, as a running worker has them
        results: dict[str, list[float]] = {s: [] for s in subjects}
        for _ in range(args.reps):
            for subject, fn in subjects.items():
                results[subject].append(cpu_per_line(fn, lines))
        base = statistics.median(results["naive"])
        for subject, values in results.items():
            med = statistics.median(values)
            print(f"{name:12} {subject:12} {med * 1e9:9,.0f} {1 / med:12,.0f} "
                  f"{base / med:8.2f}x", flush=True)
        del lines


if __name__ == "__main__":
    main()
