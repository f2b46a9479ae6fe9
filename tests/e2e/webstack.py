"""A real worker for the web tests, shared by the tests of one module.

Only the ``parse`` agent runs (the web layer is under test, not the pipeline), in its
own topics, Elasticsearch prefix and MongoDB database, with API tokens of each scope.
Use it in a test module with ``from tests.e2e.webstack import web_worker  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_tcp
from tests.e2e.conftest import Worker, es_call, isolated_env

MONGO_URL = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
OIDC_ISSUER = "http://127.0.0.1:8090/default"


@dataclass
class WebWorker:
    worker: Worker
    env: dict[str, str]
    database: str
    tokens: dict[str, str] = field(default_factory=dict)  # scope -> token

    @property
    def url(self) -> str:
        return self.worker.web


async def _create_tokens(database: str) -> dict[str, str]:
    from app.adapters.tokens import MongoTokenStore
    from app.core.tokens import Scope

    store = MongoTokenStore(MONGO_URL, database)
    try:
        return {scope.value: await store.create(f"web-{scope.value}", {scope})
                for scope in Scope}
    finally:
        await store.close()


def start_web_worker(tmp: Path, kafka: str, es_url: str,
                     extra_env: dict[str, str] | None = None) -> WebWorker:
    require_tcp("MongoDB", MONGO_URL.split("//", 1)[1].split("/", 1)[0])
    require_tcp("Redis", "127.0.0.1:6380")
    require_tcp("OIDC provider", "127.0.0.1:8090")
    run = f"web{uuid.uuid4().hex[:10]}"
    env = isolated_env(run, kafka, es_url, tmp / "data", partitions=1)
    env.update({
        "LOGWARDEN_WORKER__AGENTS": '["parse"]',
        "LOGWARDEN_MONGO__URL": MONGO_URL,
        "LOGWARDEN_MONGO__DATABASE": run,
        "LOGWARDEN_OIDC__ISSUER": OIDC_ISSUER,
        "LOGWARDEN_WEB__SESSION_SECRET": f"test-secret-{run}",
    })
    env.update(extra_env or {})
    tokens = asyncio.run(_create_tokens(run))
    worker = Worker(env, tmp / "worker.log")
    worker.start()
    return WebWorker(worker, env, run, tokens)


def stop_web_worker(web: WebWorker) -> None:
    from pymongo import MongoClient

    web.worker.stop()
    MongoClient(MONGO_URL).drop_database(web.database)
    es_url = web.env["LOGWARDEN_ELASTICSEARCH__URL"]
    es_call("DELETE", f"{es_url}/{web.env['LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX']}-*")


@pytest.fixture(scope="module")
def web_worker(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str,
               es_url: str) -> Iterator[WebWorker]:
    web = start_web_worker(tmp_path_factory.mktemp("web"), kafka_bootstrap, es_url)
    try:
        yield web
    finally:
        stop_web_worker(web)
