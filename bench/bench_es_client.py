"""What sending the ``_bulk`` requests costs the worker, per event, on the real Elasticsearch.

``bench_stages.py`` times building the ``_bulk`` bodies (the ``index`` stage) and
``bench_kafka_codec.py`` moving the bytes through Kafka; this one times the last piece
of the index agent's path that neither covers: handing the bodies to Elasticsearch
with the worker's own request path (``ElasticsearchSink._bulk``: ``AsyncElasticsearch``
on aiohttp, orjson, the response filtered to ``errors,items.*.status,items.*.error``, at
most ``bulk_concurrency`` requests in flight), and reading the responses.

The traffic is the pipeline's own (``LineFactory``, batched as the generator sends
it), run through the real parse code into ``logs.events`` messages and cut into
``_bulk`` bodies as the index agent does (batches of ``bulk_max_messages`` messages, up
to ``bulk_max_docs`` documents per request), all untimed; the garbage collector is
tuned as in the worker (``tune_gc``). Each rep indexes every body into a fresh index
prefix (a new daily index behind a new template, deleted afterwards) and measures

* ``client``: CPU time of this process (``time.process_time``) from the first request
  to the last response, every response checked for ``errors: false``;
* ``elasticsearch``: CPU time of the dev stack's Elasticsearch process over the same
  interval (``/proc``), for scale: it is not the worker's;
* the wall time.

Reported per event, medians of ``--reps``.

    .venv/bin/python bench/bench_es_client.py --events 100000 --reps 3
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _common import delete_es_state, median, new_token, service_pids, tree_cpu_seconds  # noqa: E402
from bench_kafka_codec import events_messages  # noqa: E402
from bench_pipeline import make_traffic  # noqa: E402

from app.adapters.elasticsearch import ElasticsearchSink  # noqa: E402
from app.cli import tune_gc  # noqa: E402
from app.core.eventbatch import split_event_batch  # noqa: E402
from app.core.indexing import raw_bulk_operations  # noqa: E402
from app.generator import LineFactory  # noqa: E402
from app.settings import ElasticsearchSettings, load_settings  # noqa: E402


def bulk_bodies(values: list[bytes], settings: ElasticsearchSettings, prefix: str
                ) -> list[bytes]:
    """The ``_bulk`` bodies the index agent sends for ``values`` (``logs.events``): up to
    ``bulk_max_messages`` messages per batch, cut into ``bulk_max_docs`` per request."""
    per_batch, per_request = settings.bulk_max_messages, settings.bulk_max_docs
    bodies = []
    for i in range(0, len(values), per_batch):
        events = [e for v in values[i:i + per_batch] for e in split_event_batch(v)]
        bodies += [raw_bulk_operations(events[j:j + per_request], prefix)
                   for j in range(0, len(events), per_request)]
    return bodies


async def one_rep(settings: ElasticsearchSettings, bodies: list[bytes], prefix: str,
                  es_pid: int | None) -> dict[str, float]:
    """CPU seconds of the client and of Elasticsearch, and wall seconds, for one rep."""
    sink = ElasticsearchSink(settings.model_copy(update={"index_prefix": prefix}))

    async def send(body: bytes) -> None:
        # the worker's own request path: its in-flight bound (bulk_concurrency) included
        response = await sink._bulk(body)
        if response.get("errors", True):
            raise RuntimeError(f"_bulk reported item errors: {str(response)[:300]}")

    try:
        await sink.ensure_template()
        es_before = tree_cpu_seconds(es_pid) if es_pid else 0.0
        wall, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(send(body) for body in bodies))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        es_cpu = (tree_cpu_seconds(es_pid) - es_before) if es_pid else float("nan")
        return {"client": cpu, "elasticsearch": es_cpu, "wall": wall}
    finally:
        await sink.close()
        await delete_es_state(settings.url, prefix)


async def run(args: argparse.Namespace) -> None:
    settings = load_settings()
    raw = make_traffic(LineFactory(args.seed), args.events, "batched", args.batch_lines)
    values = [value for _, value, _ in events_messages(settings, raw)]
    tune_gc(settings.worker.gc_gen0_threshold)  # as the worker does
    es = settings.elasticsearch
    es_pid = service_pids().get("elasticsearch")
    runs = []
    for rep in range(args.reps):
        prefix = new_token("esc")  # the bodies name their index: built for each rep
        bodies = bulk_bodies(values, es, prefix)
        if rep == 0:
            print(f"{raw.events:,} events: {len(values)} logs.events messages, "
                  f"{len(bodies)} _bulk requests (batches of up to {es.bulk_max_messages} "
                  f"messages, up to {es.bulk_max_docs} documents per request), "
                  f"{es.bulk_concurrency} in flight", flush=True)
        runs.append(await one_rep(es, bodies, prefix, es_pid))
        print(f"  rep {rep + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in runs[-1].items()),
              flush=True)
    per = {k: median([r[k] for r in runs]) * 1e6 / raw.events for k in runs[0]}
    print(f"\nper event (median of {args.reps}): client CPU {per['client']:.2f} us, "
          f"Elasticsearch CPU {per['elasticsearch']:.1f} us, wall {per['wall']:.1f} us "
          f"({raw.events / median([r['wall'] for r in runs]):,.0f} events/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-lines", type=int, default=1000,
                        help="lines per generator chunk, as bench_pipeline.py")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
