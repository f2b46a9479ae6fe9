"""What moving the pipeline's bytes through Kafka costs the worker, per compression codec.

The worker fetches ``logs.raw``, produces ``logs.events`` and fetches it again. This
benchmark does exactly those three transfers on the real local Kafka, with aiokafka as
the worker uses it, on the pipeline's own traffic: ``logs.raw`` messages as the
generator batches them (``bench_pipeline.make_traffic``) and the ``logs.events``
messages the real parse code makes of them (``ingest_message`` + ``interleave``, in the
parse agent's batch size). For each codec (``kafka.compression_type``) it measures the
CPU time of this process (``time.process_time``: every thread, so aiokafka's and
cramjam's work is in it; the broker's is not) for

* ``raw fetch``: consuming the ``logs.raw`` messages (produced untimed, with the codec);
* ``events produce``: producing the ``logs.events`` messages, acknowledged;
* ``events fetch``: consuming them.

Codecs run in turn within each rep; the table gives the medians, in microseconds per
event, each codec's total against ``none``, and how much smaller the codec makes the
``logs.events`` values (aiokafka's own codec functions, each message alone; a record
batch holds one such message, so this is what Kafka stores and sends).

    .venv/bin/python bench/bench_kafka_codec.py --events 100000 --reps 3 --codecs none,lz4,zstd
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _common import (  # noqa: E402
    Message,
    create_topics,
    delete_kafka_state,
    median,
    new_token,
    produce,
)
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from aiokafka import codec as codecs_module  # noqa: E402
from bench_pipeline import Traffic, make_traffic  # noqa: E402
from bench_stages import as_raw_messages, encode_results, parse_batches  # noqa: E402

from app import wiring  # noqa: E402
from app.generator import LineFactory  # noqa: E402
from app.settings import Settings, load_settings  # noqa: E402

PARTITIONS = 8
STEPS = ("raw fetch", "events produce", "events fetch")


def events_messages(settings: Settings, raw: Traffic) -> list[Message]:
    """The ``logs.events`` messages the parse agent makes of ``raw``."""
    results = parse_batches(as_raw_messages(raw), wiring.detector(settings),
                            wiring.ingest_limits(settings), wiring.enrichment(settings).run,
                            settings)
    return [(service.encode(), value, []) for service, value in encode_results(results, settings)]


def size_ratio(name: str, values: Sequence[bytes]) -> float:
    """Bytes of ``values`` over their bytes compressed with codec ``name``."""
    if name == "none":
        return 1.0
    encode = getattr(codecs_module, f"{name}_encode")
    return sum(len(v) for v in values) / sum(len(encode(v)) for v in values)


def worker_producer(bootstrap: str, codec: str | None) -> AIOKafkaProducer:
    # as Faust's driver builds the worker's producer: acks all, 1 MiB requests
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec,
                            max_request_size=1_048_576)


async def fetch_all(bootstrap: str, topic: str, count: int) -> float:
    """CPU seconds to consume ``count`` messages of ``topic`` from the start."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", fetch_max_wait_ms=100)
    await consumer.start()
    try:
        got, deadline = 0, time.monotonic() + 120
        start = time.process_time()
        while got < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            got += sum(len(records) for records in batch.values())
        spent = time.process_time() - start
    finally:
        await consumer.stop()
    if got < count:
        raise RuntimeError(f"{topic}: fetched {got} of {count} messages in 120 s")
    return spent


async def one_codec(bootstrap: str, codec: str, raw: Sequence[Message],
                    events: Sequence[Message]) -> dict[str, float]:
    """CPU seconds of each step for ``codec``, on fresh topics."""
    compression = None if codec == "none" else codec
    token = new_token("kc")
    raw_topic, events_topic = f"{token}.raw", f"{token}.events"
    await create_topics(bootstrap, [raw_topic, events_topic], PARTITIONS)
    try:
        producer = worker_producer(bootstrap, compression)
        await producer.start()
        try:
            await produce(producer, raw_topic, raw)  # the input: untimed
            start = time.process_time()
            await produce(producer, events_topic, events)
            produced = time.process_time() - start
        finally:
            await producer.stop()
        return {"raw fetch": await fetch_all(bootstrap, raw_topic, len(raw)),
                "events produce": produced,
                "events fetch": await fetch_all(bootstrap, events_topic, len(events))}
    finally:
        await delete_kafka_state(bootstrap, token)


async def run(args: argparse.Namespace) -> None:
    settings = load_settings()
    bootstrap = settings.kafka.bootstrap_servers
    raw = make_traffic(LineFactory(args.seed), args.events, "batched", args.batch_lines)
    events = events_messages(settings, raw)
    raw_bytes = sum(len(m[1]) for m in raw.messages)
    event_bytes = sum(len(m[1]) for m in events)
    print(f"{raw.events:,} events: {len(raw.messages)} logs.raw messages "
          f"({raw_bytes / raw.events:.0f} B per event), {len(events)} logs.events messages "
          f"({event_bytes / raw.events:.0f} B per event)", flush=True)
    codecs = args.codecs.split(",")
    spent: dict[str, list[dict[str, float]]] = {codec: [] for codec in codecs}
    for rep in range(args.reps):
        for codec in codecs:
            spent[codec].append(await one_codec(bootstrap, codec, raw.messages, events))
            print(f"  rep {rep + 1} {codec}: " + ", ".join(
                f"{k} {v * 1e3:.0f} ms" for k, v in spent[codec][-1].items()), flush=True)
    print(f"\nCPU us per event (median of {args.reps}), this process (aiokafka + codec)")
    print(f"{'codec':6} " + " ".join(f"{s:>15}" for s in STEPS)
          + f" {'total':>8} {'x none':>7} {'events bytes / codec':>21}")
    base = None
    for codec in codecs:
        per = {s: median([r[s] for r in spent[codec]]) * 1e6 / raw.events for s in STEPS}
        total = sum(per.values())
        base = total if codec == "none" else base
        ratio = f"{total / base:7.2f}" if base else f"{'-':>7}"
        shrink = size_ratio(codec, [m[1] for m in events])
        print(f"{codec:6} " + " ".join(f"{per[s]:15.2f}" for s in STEPS)
              + f" {total:8.2f} {ratio} {shrink:20.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-lines", type=int, default=1000)
    ap.add_argument("--codecs", default="none,lz4,zstd", help="none first: the ratio's base")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
