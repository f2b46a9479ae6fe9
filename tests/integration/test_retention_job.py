"""The retention job on the real services: old indices and old windows go, the rest stay."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient

from agents.retention import ES, MONGO, run_retention
from app.adapters.elasticsearch import ElasticsearchSink
from app.adapters.window_store import MongoWindowStore
from app.core.events import iso_utc
from app.core.windows.stats import fold
from app.settings import ElasticsearchSettings, MongoSettings, Settings, WindowSettings
from tests.conftest import require_tcp

pytestmark = pytest.mark.integration
MONGO_URL = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()


def window_docs(start: float, minutes: int) -> list[dict]:
    events = [{"ts": iso_utc(start + i * 30), "service": "api", "severity_number": 9,
               "message": "m"} for i in range(minutes * 2)]
    return [stats.final(key) for key, stats in fold(events, (60,), ()).items()]


def settings_for(es_url: str, prefix: str, database: str) -> Settings:
    return Settings(
        elasticsearch=ElasticsearchSettings(url=es_url, index_prefix=prefix, retention_days=7),
        mongo=MongoSettings(url=MONGO_URL, database=database),
        windows=WindowSettings(retention_s=86400))


async def test_run_retention_deletes_old_indices_and_windows_and_is_idempotent(
        es_url: str) -> None:
    require_tcp("MongoDB", MONGO_URL.split("//", 1)[1].split("/", 1)[0])
    run = uuid.uuid4().hex[:8]
    prefix, database = f"test-retjob-{run}", f"test_retjob_{run}"
    settings = settings_for(es_url, prefix, database)
    es = AsyncElasticsearch(es_url)
    store = MongoWindowStore(MONGO_URL, database, retention_s=86400)
    try:
        sink = ElasticsearchSink(settings.elasticsearch)
        await sink.ensure_template()
        await sink.close()
        for day in ("2026.10.30", "2026.11.14", "2026.11.15", "2026.11.22"):
            await es.indices.create(index=f"{prefix}-{day}")
        old = window_docs(NOW - 3 * 86400, 5)  # ended three days ago
        edge = window_docs(NOW - 86400 - 120, 2)  # one ends before the cutoff, one at it
        fresh = window_docs(NOW - 600, 5)
        await store.upsert(old + edge + fresh)

        report = await run_retention(settings, NOW)
        assert report.ok, report.errors
        assert report.today == "2026-11-22"
        assert report.window_cutoff == NOW - 86400
        assert report.indices == [f"{prefix}-2026.10.30", f"{prefix}-2026.11.14"]
        assert report.windows == len(old) + 1
        left = sorted(await es.indices.get(index=f"{prefix}-*"))
        assert left == [f"{prefix}-2026.11.15", f"{prefix}-2026.11.22"]
        kept = await store.find("api", 60, 0, NOW + 60)
        assert [w["start"] for w in kept] == [NOW - 86460] + [w["start"] for w in fresh]

        again = await run_retention(settings, NOW)  # idempotent: nothing left to delete
        assert (again.ok, again.indices, again.windows) == (True, [], 0)
        raw: AsyncMongoClient = AsyncMongoClient(MONGO_URL)
        try:
            names = {i["name"] async for i in await raw[database]["window_stats"].list_indexes()}
            assert {"window_identity", "retention_ttl"} <= names
        finally:
            await raw.close()
    finally:
        await es.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
        await es.options(ignore_status=404).indices.delete_index_template(name=prefix)
        await es.close()
        raw = AsyncMongoClient(MONGO_URL)
        await raw.drop_database(database)
        await raw.close()
        await store.close()


async def test_an_unreachable_elasticsearch_does_not_stop_window_retention() -> None:
    require_tcp("MongoDB", MONGO_URL.split("//", 1)[1].split("/", 1)[0])
    run = uuid.uuid4().hex[:8]
    database = f"test_retjob_{run}"
    settings = settings_for("http://127.0.0.1:9", f"test-retjob-{run}", database)
    store = MongoWindowStore(MONGO_URL, database, retention_s=86400)
    try:
        await store.upsert(window_docs(NOW - 3 * 86400, 3))
        report = await run_retention(settings, NOW)
        assert not report.ok
        assert set(report.errors) == {ES}
        assert MONGO not in report.errors
        assert report.windows == 3
    finally:
        raw: AsyncMongoClient = AsyncMongoClient(MONGO_URL)
        await raw.drop_database(database)
        await raw.close()
        await store.close()
