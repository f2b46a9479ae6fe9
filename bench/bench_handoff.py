"""What the drain loop's hand-over of one record costs: mode's ``wait_first`` against
``app.consumer_handoff`` (the worker's since session 9).

Faust's drain loop runs ``await consumer.wait_first(callback(message),
consumer.suspend_flow.wait())`` for every record it fetched. This times that call on
the consumer the worker builds (``create_app``), in one process with no Kafka, with a
callback that does nothing and does not wait (the common case: the stream buffers have
room) and with one that waits once (a bare ``sleep(0)``, the slow path), for:

* ``mode``: mode's ``Service.wait_first`` (four tasks, ``asyncio.wait``, three cancelled);
* ``eager``: the consumer's ``wait_first`` after ``fast_handoff``.

CPU time (``time.process_time``) per call, the best of ``--reps``.

    .venv/bin/python bench/bench_handoff.py --calls 50000 --reps 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mode import Service  # noqa: E402

from app.faust_app import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402


async def at_once() -> None:
    return None


async def waits_once() -> None:
    await asyncio.sleep(0)


async def timed(wait_first: Callable[..., Coroutine[Any, Any, Any]], consumer: Any,
                callback: Callable[[], Coroutine[Any, Any, None]], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        await wait_first(callback(), consumer.suspend_flow.wait())
    return time.process_time() - start


async def measure(calls: int, reps: int) -> dict[tuple[str, str], float]:
    settings = Settings.model_validate({"worker": {"app_id": "lw-bench-handoff"}})
    consumer: Any = create_app(settings).consumer
    try:
        subjects = {"mode": lambda *a, **k: Service.wait_first(consumer, *a, **k),
                    "eager": consumer.wait_first}
        best: dict[tuple[str, str], float] = {}
        for _ in range(reps):
            for name, wait_first in subjects.items():
                for label, callback in (("at once", at_once), ("waits once", waits_once)):
                    seconds = await timed(wait_first, consumer, callback, calls)
                    best[name, label] = min(best.get((name, label), float("inf")), seconds)
        return best
    finally:
        consumer._thread.thread_loop.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    best = asyncio.run(measure(args.calls, args.reps))
    print(f"{args.calls:,} hand-overs of one record, CPU us per call, best of {args.reps}")
    print(f"{'wait_first':12} {'callback':>12} {'us/call':>9}")
    for (name, label), seconds in best.items():
        print(f"{name:12} {label:>12} {seconds / args.calls * 1e6:9.2f}")


if __name__ == "__main__":
    main()
