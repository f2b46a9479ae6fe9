"""``window_stats`` in the real MongoDB-wire server: idempotent upserts, identity, retention."""

from __future__ import annotations

import os
import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from app.adapters.window_store import MongoWindowStore
from app.core.events import iso_utc
from app.core.windows.stats import WindowKey, fold
from tests.conftest import require_tcp

pytestmark = pytest.mark.integration
URL = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
T0 = 1_795_000_020.0


def docs(n: int, service: str = "api") -> list[dict]:
    return [{"ts": iso_utc(T0 + i), "service": service, "severity_number": 9,
             "is_error": i % 10 == 0, "message": "m",
             "http": {"status": 200, "status_class": "2xx", "duration_ms": float(i)}}
            for i in range(n)]


async def test_replay_changes_nothing_and_retention_deletes() -> None:
    require_tcp("MongoDB", URL.split("//", 1)[1].split("/", 1)[0])
    database = f"test_windows_{uuid.uuid4().hex[:10]}"
    store = MongoWindowStore(URL, database, retention_s=3600)
    try:
        await store.ensure_indexes()
        finals = [stats.final(key) for key, stats in fold(docs(120)).items()]
        assert await store.upsert(finals) == len(finals)
        first = await store.find("api", 60, T0, T0 + 120)
        assert [w["events"] for w in first] == [60, 60]
        assert [w["errors"] for w in first] == [6, 6]

        # a replay (same final values) leaves the collection exactly as it was
        await store.upsert(finals)
        again = await store.find("api", 60, T0, T0 + 120)
        assert again == first
        raw: AsyncMongoClient = AsyncMongoClient(URL)
        try:
            windows = raw[database]["window_stats"]
            assert await windows.count_documents({}) == len(finals)
            key = WindowKey("api", None, 60, T0)
            clash = dict(first[0], _id="another-id-for-the-same-window")
            with pytest.raises(DuplicateKeyError):
                await windows.insert_one(clash)
            assert first[0]["_id"] == key.table_key()
        finally:
            await raw.close()

        deleted = await store.delete_older_than(T0 + 61)
        assert deleted == sum(1 for f in finals if f["end"] < T0 + 61)
        assert [w["start"] for w in await store.find("api", 60, T0, T0 + 120)] == [T0 + 60]
    finally:
        raw = AsyncMongoClient(URL)
        await raw.drop_database(database)
        await raw.close()
        await store.close()
