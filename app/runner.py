"""``logwarden run``: one command for the whole job on a developer machine.

Starts a worker process (stream processing + web server), waits until it serves
``/health``, feeds generated traffic, and reports every 10 s how many events are
searchable in Elasticsearch and how many dead letters there are. Ctrl-C (or the
end of ``--duration``) stops the worker and the generator; services stay up until
``make down``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from elasticsearch import AsyncElasticsearch, NotFoundError

from app.generator import Incidents, run_generator
from app.settings import Settings

RUN_DIR = Path(".run")


def run(settings: Settings, *, rate: float, duration: float | None,
        incidents: Incidents | None = None) -> int:
    RUN_DIR.mkdir(exist_ok=True)
    log_path = RUN_DIR / "worker.log"
    with log_path.open("ab") as log_file:
        worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"],
                                  stdout=log_file, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    (RUN_DIR / "worker.pid").write_text(str(worker.pid))
    web = f"http://{settings.worker.web_host}:{settings.worker.web_port}"
    print(f"worker pid {worker.pid}, log {log_path}, web {web}/health, metrics {web}/metrics")
    try:
        if not wait_healthy(web, worker, timeout=180):
            print(f"worker did not become healthy; last lines of {log_path}:", file=sys.stderr)
            print(tail(log_path), file=sys.stderr)
            return 1
        print(f"worker healthy; generating {rate:g} lines/s "
              f"({'until Ctrl-C' if duration is None else f'for {duration:g}s'})")
        asyncio.run(_feed_and_report(settings, rate, duration, incidents))
        return 0
    except KeyboardInterrupt:
        print("\nstopping")
        return 0
    finally:
        stop_process(worker)
        with contextlib.suppress(FileNotFoundError):
            (RUN_DIR / "worker.pid").unlink()


async def _feed_and_report(settings: Settings, rate: float, duration: float | None,
                           incidents: Incidents | None) -> None:
    alias = settings.elasticsearch.index_prefix
    metrics_url = f"http://{settings.worker.web_host}:{settings.worker.web_port}/metrics"
    es = AsyncElasticsearch(settings.elasticsearch.url)
    before = await _count(es, alias)
    generator = asyncio.create_task(run_generator(settings, rate=rate, duration=duration,
                                                  incidents=incidents))
    started = time.monotonic()

    async def report(label: str) -> None:
        now = await _count(es, alias)
        new = f" (+{now - before} this run)" if isinstance(now, int) and isinstance(
            before, int) else ""
        letters = await asyncio.to_thread(_dead_letters, metrics_url)
        print(f"{label} searchable events: {now}{new}; dead letters this run: {letters}",
              flush=True)

    try:
        while True:
            await asyncio.wait({generator}, timeout=10)
            if generator.done():
                break
            await report(f"[{time.monotonic() - started:4.0f}s]")
        sent = await generator
        await _settle(es, alias)  # let the last batches land
        print(f"generated {sent} lines")
        await report("done:")
    finally:
        generator.cancel()
        await es.close()


def _dead_letters(metrics_url: str) -> str:
    """Dead letters by reason, read from the worker's own Prometheus metrics."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=5) as response:
            text = response.read().decode()
    except OSError as exc:
        return f"unavailable ({exc})"
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("logwarden_dead_letters_total{"):
            labels, value = line.rsplit(" ", 1)
            reason = labels.split('reason="', 1)[1].split('"', 1)[0]
            counts[reason] = counts.get(reason, 0.0) + float(value)
    total = int(sum(counts.values()))
    detail = ", ".join(f"{k}={int(v)}" for k, v in sorted(counts.items()))
    return f"{total}" + (f" ({detail})" if detail else "")


async def _settle(es: AsyncElasticsearch, alias: str, quiet: float = 2.0,
                  limit: float = 30.0) -> None:
    """Wait until the searchable count has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    last, since = await _count(es, alias), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = await _count(es, alias)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


async def _count(es: AsyncElasticsearch, alias: str) -> int | str:
    try:
        await es.indices.refresh(index=alias)
        return int((await es.count(index=alias))["count"])
    except NotFoundError:
        return 0
    except Exception as exc:  # report, keep going: the reporter must not stop the job
        return f"unavailable ({type(exc).__name__})"


def wait_healthy(web: str, worker: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{web}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def stop_process(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL after 30 s."""
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
