"""Parse cost per record: logwarden's parsers against same-run baselines.

Measures CPU time (``time.process_time``) per line, interleaving subjects over several
repetitions (this machine is noisy, so compare ratios, not absolute numbers):

* ``json.loads``, ``orjson.loads``: a bare decode of the same JSON line (the floor);
* ``re match``: the bare access-log regex (the floor for text formats);
* ``logwarden json`` / ``logwarden http_access``: parse into the canonical event and
  render the document that goes to Kafka and Elasticsearch.

Run: ``.venv/bin/python bench/bench_parse.py [--lines 20000] [--reps 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import orjson

from app.core.parsing import FormatDetector, RecordContext
from app.core.parsing.http_access import _HEAD as _LINE
from app.generator import LineFactory


def corpus(lines: int) -> tuple[list[str], list[str]]:
    factory = LineFactory(seed=1)
    now = 1_795_000_000.0
    json_lines = [factory._app(now + i * 0.01, "checkout").text for i in range(lines)]
    access_lines = [factory._access(now + i * 0.01).text for i in range(lines)]
    return json_lines, access_lines


def per_line_ns(fn: Callable[[str], object], lines: list[str]) -> float:
    started = time.process_time()
    for line in lines:
        fn(line)
    return (time.process_time() - started) / len(lines) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    json_lines, access_lines = corpus(args.lines)
    detector = FormatDetector()
    ctx = RecordContext(event_id="e", observed_ts=1_795_000_000.0, service=None,
                        source_name="bench")
    subjects: dict[str, tuple[Callable[[str], object], list[str]]] = {
        "json.loads (stdlib)": (json.loads, json_lines),
        "orjson.loads": (orjson.loads, json_lines),
        "logwarden json -> doc": (lambda s: detector.parse(s, ctx, "json").to_doc(), json_lines),
        "re match (access)": (_LINE.match, access_lines),
        "logwarden http_access -> doc": (
            lambda s: detector.parse(s, ctx, "http_access").to_doc(), access_lines),
    }
    results: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(args.reps):  # interleaved: A, B, C, ... then again
        for name, (fn, lines) in subjects.items():
            results[name].append(per_line_ns(fn, lines))
    base = statistics.median(results["json.loads (stdlib)"])
    print(f"{args.lines} lines per subject, {args.reps} interleaved reps, CPU time")
    print(f"{'subject':32} {'median ns/line':>15} {'min..max':>17} {'lines/CPU-s':>12} "
          f"{'x json.loads':>12}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:32} {med:15,.0f} {min(values):8,.0f}..{max(values):<8,.0f} "
              f"{1e9 / med:12,.0f} {med / base:12.2f}")


if __name__ == "__main__":
    main()
