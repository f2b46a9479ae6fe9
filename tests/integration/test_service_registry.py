"""MongoServiceRegistry against the dev stack's real MongoDB-wire server.

Start it with `make up` (or `python -m app.devstack up mongo`). When MongoDB is not
reachable these tests FAIL, never skip.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from app.adapters.service_registry import MongoServiceRegistry
from app.core.enrichment.metadata import ServiceDirectory, ServiceInfo, ServiceMetaEnricher
from app.core.events import LogEvent

pytestmark = pytest.mark.integration

MONGO_URL = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
FIXED_NOW = datetime(2026, 11, 22, 4, 36, 38, tzinfo=UTC)


@pytest.fixture
async def mongo_url() -> str:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        MONGO_URL, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)
    error: Exception | None = None
    try:
        await client.admin.command("ping")
    except Exception as exc:
        error = exc
    finally:
        await client.close()
    if error is not None:
        pytest.fail(f"MongoDB is not reachable at {MONGO_URL} ({type(error).__name__}); "
                    "start the services with `make up` (python -m app.devstack up mongo)",
                    pytrace=False)
    return MONGO_URL


@pytest.fixture
async def registry(mongo_url: str) -> AsyncIterator[MongoServiceRegistry]:
    database = f"logwarden_test_{uuid.uuid4().hex[:12]}"
    reg = MongoServiceRegistry(mongo_url, database, timeout_ms=3000, clock=lambda: FIXED_NOW)
    try:
        yield reg
    finally:
        await reg.client.drop_database(database)
        await reg.close()


def event(service: str) -> LogEvent:
    return LogEvent(event_id="e1", ts=0.0, observed_ts=0.0, service=service, message="hi")


async def test_upsert_load_delete(registry: MongoServiceRegistry) -> None:
    await registry.upsert(ServiceInfo("checkout", team="payments", owner="alice", tier="1",
                                      env="prod"))
    await registry.upsert(ServiceInfo("search", team="discovery"))
    loaded = await registry.load()
    assert loaded == {
        "checkout": ServiceInfo("checkout", team="payments", owner="alice", tier="1",
                                env="prod", updated_at=FIXED_NOW.timestamp()),
        "search": ServiceInfo("search", team="discovery", updated_at=FIXED_NOW.timestamp()),
    }
    raw = await registry.collection.find_one({"_id": "search"})
    assert raw is not None and "owner" not in raw  # unset fields are not stored as null

    await registry.upsert(ServiceInfo("search", team="relevance", tier="2"))
    assert (await registry.load())["search"].team == "relevance"
    assert await registry.delete("search") is True
    assert await registry.delete("search") is False
    assert set(await registry.load()) == {"checkout"}


async def test_load_skips_documents_without_a_string_id(
        registry: MongoServiceRegistry, caplog: pytest.LogCaptureFixture) -> None:
    await registry.collection.insert_one({"_id": 42, "team": "numbers"})
    await registry.upsert(ServiceInfo("api", team="core"))
    with caplog.at_level(logging.WARNING, logger="app.adapters.service_registry"):
        assert set(await registry.load()) == {"api"}
    assert "without a string _id" in caplog.text


async def test_refresh_forever_applies_an_edit_without_restart(
        registry: MongoServiceRegistry) -> None:
    await registry.upsert(ServiceInfo("checkout", team="payments", env="prod"))
    directory = ServiceDirectory()
    enricher = ServiceMetaEnricher(directory)
    task = asyncio.create_task(registry.refresh_forever(directory, interval_s=0.05))
    try:
        await wait_for(lambda: directory.get("checkout") is not None)
        first = event("checkout")
        enricher.enrich(first)
        assert first.service_meta == {"team": "payments"} and first.env == "prod"

        # an operator edits the document: the next refresh applies it
        await registry.upsert(ServiceInfo("checkout", team="billing", owner="bob", env="prod"))
        await wait_for(lambda: (info := directory.get("checkout")) is not None
                       and info.team == "billing")
        second = event("checkout")
        enricher.enrich(second)
        assert second.service_meta == {"team": "billing", "owner": "bob"}

        await registry.delete("checkout")
        await wait_for(lambda: directory.get("checkout") is None)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_refresh_keeps_the_last_good_snapshot_when_mongo_is_down(
        caplog: pytest.LogCaptureFixture) -> None:
    good = {"checkout": ServiceInfo("checkout", team="payments")}
    directory = ServiceDirectory(good)
    # nothing listens on port 1: every operation fails after the selection timeout
    down = MongoServiceRegistry("mongodb://user:secret@127.0.0.1:1", "nowhere",
                                timeout_ms=200)
    try:
        with caplog.at_level(logging.WARNING, logger="app.adapters.service_registry"):
            assert await down.refresh(directory) is False
            task = asyncio.create_task(down.refresh_forever(directory, interval_s=0.05))
            await asyncio.sleep(0.6)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await down.close()
    assert dict(directory.snapshot) == good
    assert "keeping the last good snapshot of 1 services" in caplog.text
    assert "secret" not in caplog.text


async def wait_for(condition: object, timeout_s: float = 5.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not met within the refresh interval budget")
        await asyncio.sleep(0.02)
