"""What Faust's monitor costs per Kafka message: ``PrometheusMonitor`` against ``LeanMonitor``.

For every Kafka message it hands an agent, Faust calls the app's sensors (through its
``SensorDelegate``) four times (``on_message_in``, ``on_stream_event_in``,
``on_stream_event_out``, ``on_message_out``) and the monitor once more
(``track_tp_end_offset``). This times that sequence, in one process with no I/O, with
the worker's sensors as ``app.faust_app`` sets them up (the monitor and
``web.metrics.MessageLatencySensor``), for each monitor:

* ``prometheus``: Faust's ``PrometheusMonitor`` (``setup_prometheus_sensors``, which the
  worker used up to session 8), its families on a registry of their own;
* ``lean``: ``app.monitor.LeanMonitor`` (the worker's since session 9);
* ``none``: no monitor at all (the delegate's own cost, and the latency sensor's).

CPU time (``time.process_time``) per message, the best of ``--reps``, the subjects
alternated.

    .venv/bin/python bench/bench_monitor.py --messages 200000 --reps 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from faust.sensors.base import SensorDelegate  # noqa: E402
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor  # noqa: E402
from faust.types import TP, Message  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from app.faust_app import app, raw_topic, settings  # noqa: E402
from app.monitor import LeanMonitor  # noqa: E402
from web.metrics import MessageLatencySensor  # noqa: E402

PARTITIONS = 8


def delegate(monitor: Any) -> SensorDelegate:
    sensors = SensorDelegate(app)
    if monitor is not None:
        sensors.add(monitor)
    sensors.add(MessageLatencySensor())
    return sensors


def subjects() -> dict[str, SensorDelegate]:
    metrics = FaustMetrics.create(CollectorRegistry(), settings.worker.app_id.replace("-", "_"))
    return {"prometheus": delegate(PrometheusMonitor(metrics=metrics)),
            "lean": delegate(LeanMonitor()), "none": delegate(None)}


def run(sensors: SensorDelegate, messages: list[tuple[TP, Message]], stream: Any) -> float:
    monitor = next((s for s in sensors if not isinstance(s, MessageLatencySensor)), None)
    track = monitor.track_tp_end_offset if monitor is not None else None
    start = time.process_time()
    for tp, message in messages:
        offset = message.offset
        if track is not None:
            track(tp, offset + 1000)
        sensors.on_message_in(tp, offset, message)
        state = sensors.on_stream_event_in(tp, offset, stream, None)  # type: ignore[arg-type]
        sensors.on_stream_event_out(tp, offset, stream, None, state)  # type: ignore[arg-type]
        sensors.on_message_out(tp, offset, message)
    return time.process_time() - start


async def measure(args: argparse.Namespace) -> dict[str, float]:
    stream = raw_topic.stream()
    stream.task_owner = asyncio.current_task()  # an agent's task, as when Faust runs it
    tps = [TP(raw_topic.get_topic_name(), p) for p in range(PARTITIONS)]
    messages = [(tps[i % PARTITIONS],
                 Message(tps[i % PARTITIONS].topic, i % PARTITIONS, i // PARTITIONS, time.time(),
                         0, [], b"k", b"v", None))
                for i in range(args.messages)]
    best = {name: float("inf") for name in subjects()}
    for _ in range(args.reps):
        for name, sensors in subjects().items():
            best[name] = min(best[name], run(sensors, messages, stream))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    best = asyncio.run(measure(args))
    print(f"{args.messages:,} messages, sensors called as Faust calls them per message "
          f"handed to one agent; best of {args.reps}")
    print(f"{'monitor':12} {'us/message':>11}")
    for name, seconds in best.items():
        print(f"{name:12} {seconds / args.messages * 1e6:11.2f}")


if __name__ == "__main__":
    main()
