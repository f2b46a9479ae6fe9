"""The worker's in-process work per event, stage by stage, on the pipeline's own traffic.

``bench_pipeline.py`` measures the whole worker against real services; this one takes
the same generated traffic (``LineFactory``, batched as the generator sends it) and
times, in one process with no I/O, what the worker's agents do to it:

* ``parse``: ``ingest_message`` (split, decode, detect, parse, enrich, canonical doc);
* ``encode``: ``interleave`` (the ``logs.events`` messages, JSON bytes);
* ``index``: ``split_event_batch`` + ``raw_bulk_operations`` (the ``_bulk`` body);
* ``fold``: ``decode_fold_batch`` + ``fold_messages`` (the window fold, per partition,
  groups of 8 messages as the agent takes them).

CPU time (``time.process_time``) per event; the best of ``--reps`` (a noisy machine
only ever adds time). What is left of the worker's cost in ``bench_pipeline.py``
(Kafka, Faust, HTTP, the event loop) is the difference.

``--breakdown`` also times the parse stage with one part left out at a time (no
enrichment; the canonical document replaced by a no-op; a constant event id): the
difference to the whole stage is what that part costs in place, without a profiler's
overhead on every call.

    .venv/bin/python bench/bench_stages.py --events 50000 --reps 5 [--breakdown]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_pipeline import Traffic, generate, to_traffic  # noqa: E402  (bench/, the script's directory)

from app import wiring  # noqa: E402
from app.cli import tune_gc  # noqa: E402
from app.core import ingest as ingest_module  # noqa: E402
from app.core.eventbatch import (  # noqa: E402
    decode_fold_batch,
    doc_time,
    interleave,
    split_event_batch,
)
from app.core.indexing import raw_bulk_operations  # noqa: E402
from app.core.ingest import (  # noqa: E402
    Enrich,
    IngestLimits,
    IngestResult,
    RawMessage,
    ingest_message,
)
from app.core.parsing import FormatDetector  # noqa: E402
from app.core.windows.book import PartitionMark, fold_messages  # noqa: E402
from app.generator import LineFactory  # noqa: E402
from app.settings import Settings, load_settings  # noqa: E402

PARTITIONS = 8


def raw_messages(count: int, seed: int, chunk: int, clients: int = 5000) -> list[RawMessage]:
    lines, _ = generate(LineFactory(seed, clients=clients), count)
    return as_raw_messages(to_traffic(lines, "batched", chunk))


def as_raw_messages(traffic: Traffic) -> list[RawMessage]:
    """``traffic``'s messages as the parse agent receives them from ``logs.raw``."""
    return [RawMessage(value=value, key=key,
                       headers={k: v.decode() for k, v in headers},
                       topic="logs.raw", partition=i % PARTITIONS, offset=i // PARTITIONS,
                       timestamp=time.time())
            for i, (key, value, headers) in enumerate(traffic.messages)]


def parse_batches(messages: list[RawMessage], detector: FormatDetector, limits: IngestLimits,
                  enrich: Enrich | None, settings: Settings) -> list[IngestResult]:
    """``ingest_message`` over ``messages`` in the parse stage's chunks: at most
    ``ingest.parse_batch_size`` messages, ending once ``ingest.parse_batch_bytes`` reached."""
    most, max_bytes = settings.ingest.parse_batch_size, settings.ingest.parse_batch_bytes
    results = []
    result, count, size = IngestResult(), 0, 0
    for msg in messages:
        ingest_message(msg, detector, limits, result, enrich)
        count, size = count + 1, size + len(msg.value)
        if count >= most or size >= max_bytes:
            results.append(result)
            result, count, size = IngestResult(), 0, 0
    if count:
        results.append(result)
    return results


def encode_results(results: list[IngestResult], settings: Settings) -> list[tuple[str, bytes]]:
    """The ``logs.events`` messages ``(service, value)`` the parse agent sends for ``results``."""
    slice_s = max(settings.windows.grace_s / 2, 0.05)  # as agents/parse.py
    max_bytes = settings.ingest.event_message_bytes
    return [out for result in results
            for out in interleave(result.by_service, doc_time, slice_s, max_bytes)]


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(reps):
        gc.collect()
        gc.freeze()
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-lines", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=5000,
                    help="client addresses of the access lines (bench_pipeline.py --clients)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time the parse stage without each of its parts")
    args = ap.parse_args()

    settings = load_settings()
    detector = wiring.detector(settings)
    enrich = wiring.enrichment(settings).run
    limits = wiring.ingest_limits(settings)
    w = settings.windows
    messages = raw_messages(args.events, args.seed, args.batch_lines, args.clients)
    tune_gc(settings.worker.gc_gen0_threshold)  # as the worker does

    def parse_with(enrich_fn: Enrich | None) -> list[IngestResult]:
        return parse_batches(messages, detector, limits, enrich_fn, settings)

    def parse() -> list[IngestResult]:
        return parse_with(enrich)

    t_parse, results = timed(parse, args.reps)
    events = sum(r.events for r in results)

    def encode() -> list[tuple[str, bytes]]:
        return encode_results(results, settings)

    t_encode, encoded = timed(encode, args.reps)
    # logs.events is keyed by service: a partition per service, as Kafka's hash would
    by_part: dict[int, list[tuple[int, bytes]]] = {}
    for service, value in encoded:
        part = zlib.crc32(service.encode()) % PARTITIONS
        by_part.setdefault(part, []).append((len(by_part.get(part, ())), value))
    values = [value for _, value in encoded]
    event_bytes = sum(len(v) for v in values)

    def index() -> int:
        n = 0
        for start in range(0, len(values), settings.elasticsearch.bulk_max_messages):
            docs = [d for v in values[start:start + settings.elasticsearch.bulk_max_messages]
                    for d in split_event_batch(v)]
            n += len(raw_bulk_operations(docs, "logs"))
        return n

    t_index, _ = timed(index, args.reps)

    def fold() -> int:
        n = 0
        for part, msgs in by_part.items():
            mark = PartitionMark(part)
            for start in range(0, len(msgs), 8):
                group = [(off, decode_fold_batch(v)) for off, v in msgs[start:start + 8]]
                done = fold_messages(group, mark, lambda _k: {},
                                     service_sizes=w.service_sizes_s,
                                     route_sizes=w.route_sizes_s)
                mark.max_event = done.max_event
                n += done.events
        return n

    t_fold, folded = timed(fold, args.reps)
    assert folded == events, (folded, events)

    print(f"{args.events:,} lines -> {events:,} events in {len(messages)} logs.raw messages,"
          f" {len(values)} logs.events messages ({event_bytes / events:.0f} B per event)")
    total = 0.0
    for name, t in (("parse", t_parse), ("encode", t_encode), ("index", t_index),
                    ("fold", t_fold)):
        total += t
        print(f"{name:8} {t / events * 1e6:6.2f} us/event")
    print(f"{'total':8} {total / events * 1e6:6.2f} us/event  "
          f"({events / total:,.0f} events per CPU-second for these stages alone)")
    if args.breakdown:
        breakdown(parse_with, enrich, t_parse, events, args.reps)


def breakdown(parse_with: Callable[[Enrich | None], list[IngestResult]], enrich: Enrich,
              whole: float, events: int, reps: int) -> None:
    """The parse stage without each part in turn; the difference is the part's cost."""
    def no_doc(_event: Any, _pos: Any = None) -> None:
        return None

    def no_id(_topic: str, _partition: int, _offset: int, _index: int = 0) -> str:
        return "0" * 32

    def replaced(name: str, stand_in: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> list[IngestResult]:  # ingest_message looks the name up per record
            real = getattr(ingest_module, name)
            setattr(ingest_module, name, stand_in)
            try:
                return parse_with(enrich)
            finally:
                setattr(ingest_module, name, real)
        return run

    print(f"parse stage {whole / events * 1e6:.2f} us/event, of which (left out in turn):")
    accounted = 0.0
    for label, without in (("enrichment", lambda: parse_with(None)),
                           ("document", replaced("event_doc", no_doc)),
                           ("event id", replaced("event_id", no_id))):
        part = whole - timed(without, reps)[0]
        accounted += part
        print(f"  {label:11} {part / events * 1e6:6.2f} us/event")
    print(f"  {'the rest':11} {(whole - accounted) / events * 1e6:6.2f} us/event  "
          "(split, decode, detect, parse, grouping)")


if __name__ == "__main__":
    main()
