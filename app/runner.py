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

from app.generator import run_generator
from app.settings import Settings

RUN_DIR = Path(".run")


def run(settings: Settings, *, rate: float, duration: float | None) -> int:
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
        if not _wait_healthy(web, worker, timeout=180):
            print(f"worker did not become healthy; last lines of {log_path}:", file=sys.stderr)
            print(_tail(log_path), file=sys.stderr)
            return 1
        print(f"worker healthy; generating {rate:g} lines/s "
              f"({'until Ctrl-C' if duration is None else f'for {duration:g}s'})")
        asyncio.run(_feed_and_report(settings, rate, duration))
        return 0
    except KeyboardInterrupt:
        print("\nstopping")
        return 0
    finally:
        _stop(worker)
        with contextlib.suppress(FileNotFoundError):
            (RUN_DIR / "worker.pid").unlink()


async def _feed_and_report(settings: Settings, rate: float, duration: float | None) -> None:
    generator = asyncio.create_task(run_generator(settings, rate=rate, duration=duration))
    es = AsyncElasticsearch(settings.elasticsearch.url)
    started = time.monotonic()
    try:
        while not generator.done():
            await asyncio.wait({generator}, timeout=10)
            print(f"[{time.monotonic() - started:6.0f}s] searchable events: "
                  f"{await _count(es, settings.elasticsearch.index_prefix)}", flush=True)
        await generator
        await asyncio.sleep(3)  # let the last bulk land
        print(f"done: searchable events: {await _count(es, settings.elasticsearch.index_prefix)}")
    finally:
        generator.cancel()
        await es.close()


async def _count(es: AsyncElasticsearch, alias: str) -> int | str:
    try:
        await es.indices.refresh(index=alias)
        return int((await es.count(index=alias))["count"])
    except NotFoundError:
        return 0
    except Exception as exc:  # report, keep going: the reporter must not stop the job
        return f"unavailable ({type(exc).__name__})"


def _wait_healthy(web: str, worker: subprocess.Popen[bytes], timeout: float) -> bool:
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


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
