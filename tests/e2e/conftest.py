"""Helpers for end-to-end tests: a real worker process in isolated topics and indices."""

from __future__ import annotations

import asyncio
import json
import os
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

from app.runner import stop_process, tail, wait_healthy


def free_port() -> int:
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
        if not wait_healthy(self.web, self.proc, timeout=120):
            raise AssertionError(f"worker exited or not healthy within 120 s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def tail(self, lines: int = 60) -> str:
        return tail(self.log, lines)


def isolated_env(run: str, kafka: str, es_url: str, datadir: Path,
                 partitions: int) -> dict[str, str]:
    """A worker environment whose topics, index, app id, data dir and web port are the
    run's own (every ``TopicSettings`` topic, so a new topic is isolated too)."""
    from app.settings import TopicSettings

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    env.update({f"LOGWARDEN_TOPICS__{name.upper()}": f"{run}.{field.default}"
                for name, field in TopicSettings.model_fields.items()})
    env.update({
        "LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS": kafka,
        "LOGWARDEN_KAFKA__PARTITIONS": str(partitions),
        "LOGWARDEN_ELASTICSEARCH__URL": es_url,
        "LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX": f"{run}-events",
        "LOGWARDEN_WORKER__APP_ID": f"logwarden-{run}",
        "LOGWARDEN_WORKER__DATADIR": str(datadir),
        "LOGWARDEN_WORKER__WEB_PORT": str(free_port()),
    })
    return env


@pytest.fixture()
def isolated(tmp_path: Path, kafka_bootstrap: str, es_url: str,
             mongo_url: str) -> Iterator[dict[str, str]]:
    """Topics, index, app id, MongoDB database and port of one test's own."""
    from pymongo import MongoClient

    run = f"e2e{uuid.uuid4().hex[:10]}"
    env = isolated_env(run, kafka_bootstrap, es_url, tmp_path / "data", partitions=2)
    env.update({"LOGWARDEN_MONGO__URL": mongo_url, "LOGWARDEN_MONGO__DATABASE": run})
    yield env
    MongoClient(mongo_url).drop_database(run)
    es_call("DELETE", f"{es_url}/{run}-events-*")
    es_call("DELETE", f"{es_url}/_index_template/{run}-events")


def es_call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        return {"error": exc.code}
    except OSError as exc:  # refused / reset: let the caller's assertion report it
        return {"error": str(exc)}


def search(es_url: str, prefix: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    es_call("POST", f"{es_url}/{prefix}/_refresh")
    found = es_call("POST", f"{es_url}/{prefix}/_search", {"query": query, "size": 50})
    return [hit["_source"] | {"_id": hit["_id"]} for hit in found.get("hits", {}).get("hits", [])]


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[Any]]]
                   ) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        metas = [await producer.send_and_wait(topic, key=k, value=v, headers=h)
                 for k, v, h in records]
        return [(m.partition, m.offset) for m in metas]
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, want: int,
                     timeout: float) -> list[dict[str, Any]]:
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


async def read_raw_topic(bootstrap: str, topic: str,
                         timeout: float) -> list[tuple[int, int, bytes]]:
    """(partition, offset, value) of every record on ``topic``, read until ``timeout``
    passes with nothing new."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    found: list[tuple[int, int, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            if batches:
                deadline = time.monotonic() + 3
            found += [(r.partition, r.offset, r.value) for rs in batches.values() for r in rs]
        return found
    finally:
        await consumer.stop()


@pytest.fixture()
def mongo_url() -> str:
    from tests.conftest import require_tcp

    url = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
    require_tcp("MongoDB", url.split("//", 1)[1].split("/", 1)[0])
    return url


@pytest.fixture()
def ingest_token(isolated: dict[str, str], mongo_url: str) -> str:
    """A real API token (ingest scope) in the test's own MongoDB database."""
    from app.adapters.tokens import MongoTokenStore
    from app.core.tokens import Scope

    database = isolated["LOGWARDEN_MONGO__DATABASE"]

    async def create() -> str:
        store = MongoTokenStore(mongo_url, database)
        try:
            return await store.create("e2e-gateway", {Scope.INGEST})
        finally:
            await store.close()

    return asyncio.run(create())


@pytest.fixture()
def webhook() -> Iterator[Any]:
    """A JSON webhook receiver (``tests.e2e.alertkit.Webhook``) for the test's duration."""
    from tests.e2e.alertkit import Webhook

    with Webhook() as hook:
        yield hook
