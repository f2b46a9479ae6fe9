"""The walking skeleton, end to end on the real services.

A real worker process (``logwarden worker``) runs against the dev stack's Kafka and
Elasticsearch, in its own topics, consumer group and index prefix. A plain Kafka
producer writes raw lines; the test asserts that the good ones are searchable in
Elasticsearch and the malformed one is in the dead-letter topic with its reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from app.core.ids import event_id

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.web = f"http://127.0.0.1:{env['LOGWARDEN_WORKER__WEB_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker exited early:\n{self.tail()}"
            try:
                with urllib.request.urlopen(f"{self.web}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"worker not healthy within 120 s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture()
def isolated(tmp_path: Path, kafka_bootstrap: str, es_url: str) -> Iterator[dict[str, str]]:
    run = f"e2e{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    env.update({
        "LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LOGWARDEN_KAFKA__PARTITIONS": "2",
        "LOGWARDEN_TOPICS__RAW": f"{run}.logs.raw",
        "LOGWARDEN_TOPICS__EVENTS": f"{run}.logs.events",
        "LOGWARDEN_TOPICS__DLQ": f"{run}.logs.dlq",
        "LOGWARDEN_ELASTICSEARCH__URL": es_url,
        "LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX": f"{run}-events",
        "LOGWARDEN_WORKER__APP_ID": f"logwarden-{run}",
        "LOGWARDEN_WORKER__DATADIR": str(tmp_path / "data"),
        "LOGWARDEN_WORKER__WEB_PORT": str(_free_port()),
    })
    yield env
    _es("DELETE", f"{es_url}/{run}-events-*")
    _es("DELETE", f"{es_url}/_index_template/{run}-events")


def _es(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        return {"error": exc.code}


def _search(es_url: str, prefix: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    _es("POST", f"{es_url}/{prefix}/_refresh")
    found = _es("POST", f"{es_url}/{prefix}/_search", {"query": query, "size": 50})
    return [hit["_source"] | {"_id": hit["_id"]} for hit in found.get("hits", {}).get("hits", [])]


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[Any]]]
                   ) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        metas = [await producer.send_and_wait(topic, key=k, value=v, headers=h)
                 for k, v, h in records]
        return [(m.partition, m.offset) for m in metas]
    finally:
        await producer.stop()


async def _read_dlq(bootstrap: str, topic: str, want: int, timeout: float) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(found) < want and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            found += [json.loads(r.value) for rs in batches.values() for r in rs]
        return found
    finally:
        await consumer.stop()


def test_raw_lines_become_searchable_and_bad_line_goes_to_dlq(
        isolated: dict[str, str], tmp_path: Path) -> None:
    env = isolated
    bootstrap = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"]
    es_url = env["LOGWARDEN_ELASTICSEARCH__URL"]
    prefix = env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"]
    marker = uuid.uuid4().hex
    good_json = json.dumps({"@timestamp": "2026-11-22T04:00:00Z", "level": "error",
                            "service": "checkout", "message": f"payment timeout {marker}",
                            "http": {"method": "POST", "path": "/api/checkout",
                                     "status": 504, "latency_ms": 3012.5}}).encode()
    access = (f'203.0.113.7 - - [22/Nov/2026:04:00:01 +0000] "GET /search?q={marker} HTTP/1.1" '
              f'200 512 "-" "curl/8.4.0"').encode()
    bad = b'{"service": "checkout", "message": "cut off'

    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        positions = asyncio.run(_produce(bootstrap, env["LOGWARDEN_TOPICS__RAW"], [
            (b"checkout-app", good_json, []),
            (b"web-1", access, [("service", b"web-frontend")]),
            (b"bad-producer", bad, []),
        ]))

        deadline, hits = time.monotonic() + 90, []
        while time.monotonic() < deadline and len(hits) < 2:
            hits = _search(es_url, prefix, {"match": {"message": marker}})
            time.sleep(1)
        assert len(hits) == 2, f"documents not searchable; worker log:\n{worker.tail()}"
        by_service = {h["service"]: h for h in hits}
        checkout = by_service["checkout"]
        assert checkout["severity_text"] == "error" and checkout["http"]["status"] == 504
        partition, offset = positions[0]
        assert checkout["_id"] == event_id(env["LOGWARDEN_TOPICS__RAW"], partition, offset, 0)
        assert by_service["web-frontend"]["http"]["client_ip"] == "203.0.113.7"
        # searchable by structured fields too, not only full text
        assert _search(es_url, prefix, {"bool": {"filter": [
            {"term": {"service": "checkout"}}, {"range": {"http.status": {"gte": 500}}}]}})

        letters = asyncio.run(_read_dlq(bootstrap, env["LOGWARDEN_TOPICS__DLQ"], 1, 30))
        assert len(letters) == 1, f"expected one dead letter; worker log:\n{worker.tail()}"
        letter = letters[0]
        assert (letter["stage"], letter["reason"], letter["parser"]) == (
            "parse", "malformed_json", "json")
        assert letter["original"].encode() == bad
        assert (letter["source"]["partition"], letter["source"]["offset"]) == positions[2]
    finally:
        worker.stop()
