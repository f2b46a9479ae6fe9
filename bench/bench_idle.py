"""What a worker with no traffic costs, for a list of Kafka fetch waits.

A full worker (every default agent: the pipeline, alerting, delivery, the live tail,
retention) is started against the dev stack with its own topics, index prefix, MongoDB
database and consumer group, left ``--settle`` seconds to join its group and build
what it keeps, then its CPU (``utime + stime`` of the process and its children, from
``/proc``) is read over ``--samples`` intervals of ``--interval`` seconds while nothing
is produced. Waits are alternated over ``--reps``. What it shows: the cost of
``kafka.fetch_max_wait_ms`` when idle — each wait is one empty fetch round trip per
broker — against the wall-rate gain it buys under load (``bench_pipeline.py``).

    .venv/bin/python bench/bench_idle.py --waits 1500,500,250,100 --reps 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _common import (  # noqa: E402  (bench/, the script's directory)
    create_topics,
    delete_es_state,
    delete_kafka_state,
    drop_mongo_database,
    median,
    new_token,
    tree_cpu_seconds,
)
from bench_pipeline import isolated_env  # noqa: E402

from app.settings import BUILTIN_AGENTS, TopicSettings, load_settings  # noqa: E402


async def idle_cores(wait_ms: int, args: argparse.Namespace) -> list[float]:
    """Busy cores of an idle worker fetching with ``wait_ms``, one value per sample."""
    settings = load_settings()
    token = new_token("idle")
    workdir = Path(tempfile.mkdtemp(prefix=f"{token}-"))
    # every default agent, and the wait under test, as bench_pipeline names a run's state
    run = argparse.Namespace(partitions=args.partitions, agents=",".join(BUILTIN_AGENTS),
                             idle_after=0, set=[f"kafka.fetch_max_wait_ms={wait_ms}"])
    env = isolated_env(token, "idle", run, workdir)
    topics = [f"{token}.{spec.default}" for spec in TopicSettings.model_fields.values()]
    bootstrap = settings.kafka.bootstrap_servers
    await create_topics(bootstrap, topics, args.partitions)
    with (workdir / "worker.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=REPO,
                                env=os.environ | env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await asyncio.sleep(args.settle)
        if proc.poll() is not None:
            raise SystemExit(f"worker exited ({proc.returncode}); see {workdir / 'worker.log'}")
        out = []
        for _ in range(args.samples):
            cpu, wall = tree_cpu_seconds(proc.pid), time.monotonic()
            await asyncio.sleep(args.interval)
            out.append((tree_cpu_seconds(proc.pid) - cpu) / (time.monotonic() - wall))
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        await delete_kafka_state(bootstrap, token)
        await delete_es_state(settings.elasticsearch.url, f"{token}-events")
        await drop_mongo_database(settings.mongo.url, token)
        shutil.rmtree(workdir, ignore_errors=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waits", default="1500,500,250,100",
                    help="kafka.fetch_max_wait_ms values, comma-separated")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--settle", type=float, default=30.0, help="seconds before measuring")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--partitions", type=int, default=8)
    args = ap.parse_args()
    waits = [int(w) for w in args.waits.split(",")]
    results: dict[int, list[float]] = {w: [] for w in waits}
    for rep in range(args.reps):
        for wait in waits:
            cores = await idle_cores(wait, args)
            results[wait] += cores
            print(f"rep {rep + 1}: fetch_max_wait_ms={wait}: busy cores "
                  + " ".join(f"{c:.4f}" for c in cores), flush=True)
    print(f"\n{'fetch_max_wait_ms':>17}  {'median':>7}  {'min':>7}  {'max':>7}  (busy cores, idle)")
    for wait in waits:
        values = results[wait]
        print(f"{wait:17d}  {median(values):7.4f}  {min(values):7.4f}  {max(values):7.4f}")


if __name__ == "__main__":
    asyncio.run(main())
