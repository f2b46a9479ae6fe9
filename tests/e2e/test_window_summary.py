"""``/api/v1/services`` and ``/api/v1/services/{service}/summary`` on a real worker.

Windows are put in Redis and MongoDB directly with the adapters; the worker reads them:
from the cache when it holds what was asked for, from the store otherwise.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from app.adapters import window_cache as cache_module
from app.adapters.tokens import MongoTokenStore
from app.adapters.window_cache import RedisWindowCache
from app.adapters.window_store import MongoWindowStore
from app.core.events import iso_utc
from app.core.tokens import Scope
from app.core.windows.stats import fold, window_start
from tests.conftest import require_tcp
from tests.e2e.conftest import Worker

pytestmark = pytest.mark.e2e
REDIS_URL = "redis://127.0.0.1:6380/0"  # the worker's default (the env is isolated)


def get(url: str, token: str | None) -> tuple[int, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_content_type(), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), json.load(exc)


def windows(service: str, newest_start: float, count: int) -> list[dict[str, Any]]:
    """``count`` closed 60 s windows of ``service``, oldest first, ``i + 1`` events each."""
    events = [{"ts": iso_utc(newest_start - (count - 1 - i) * 60 + j), "service": service,
               "severity_number": 17 if j == 0 else 9, "is_error": j == 0, "message": "boom"}
              for i in range(count) for j in range(i + 1)]
    return [stats.final(key) for key, stats in fold(events, (60,), ()).items()]


async def seed(mongo_url: str, database: str, cached: str, stored: str,
               now: float) -> str:
    newest = window_start(now, 60) - 60  # the last closed minute
    cache = RedisWindowCache(REDIS_URL)
    store = MongoWindowStore(mongo_url, database)
    tokens = MongoTokenStore(mongo_url, database)
    try:
        await cache.put(windows(cached, newest, 3))  # the cache holds 3 windows
        await store.upsert(windows(cached, newest, 8) + windows(stored, newest, 6))
        return await tokens.create("e2e-reader", {Scope.READ})
    finally:
        await cache.close()
        await store.close()
        await tokens.close()


async def forget(services: list[str]) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        for service in services:
            keys = [k async for k in redis.scan_iter(f"{cache_module.PREFIX}:{service}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.zrem(cache_module.SERVICES, service)
    finally:
        await redis.aclose()


def test_summary_from_cache_and_store_with_read_tokens_only(
        isolated: dict[str, str], ingest_token: str, mongo_url: str, tmp_path: Path) -> None:
    require_tcp("Redis", "127.0.0.1:6380")
    run = uuid.uuid4().hex[:8]
    cached, stored = f"sum-cached-{run}", f"sum-stored-{run}"
    reader = asyncio.run(seed(mongo_url, isolated["LOGWARDEN_MONGO__DATABASE"], cached, stored,
                              time.time()))
    worker = Worker(isolated, tmp_path / "worker.log")
    worker.start()
    api = f"{worker.web}/api/v1/services"
    try:
        for url in (api, f"{api}/{cached}/summary"):
            status, ctype, body = get(url, None)
            assert (status, ctype, body["title"]) == (401, "application/problem+json",
                                                      "Unauthorized")
            assert get(url, "lw_not-a-token")[0] == 401
            assert get(url, ingest_token)[0] == 403  # ingest scope cannot read

        status, _, body = get(api, reader)
        assert status == 200, worker.tail()
        assert {cached} <= set(body["services"])
        assert stored not in body["services"]  # the list comes from the cache

        status, _, body = get(f"{api}/{cached}/summary?granularity=60&windows=3", reader)
        assert status == 200, worker.tail()
        assert (body["source"], body["service"], body["granularity_s"]) == ("cache", cached, 60)
        assert [w["events"] for w in body["windows"]] == [3, 2, 1]  # newest first
        assert body["current"] == body["windows"][0]
        assert body["current"]["errors"] == 1

        # more windows than the cache holds: the store answers, in the same shape
        status, _, body = get(f"{api}/{cached}/summary?windows=5", reader)
        assert (status, body["source"]) == (200, "store"), body
        assert [w["events"] for w in body["windows"]] == [8, 7, 6, 5, 4]
        assert set(body["current"]) == set(windows(cached, 0.0, 1)[0])

        status, _, body = get(f"{api}/{stored}/summary", reader)  # not cached at all
        assert (status, body["source"], len(body["windows"])) == (200, "store", 6)
        assert body["current"]["_id"] == body["windows"][0]["_id"]
        assert body["windows"][0]["start"] > body["windows"][-1]["start"]

        status, ctype, body = get(f"{api}/{cached}/summary?granularity=7", reader)
        assert (status, ctype) == (400, "application/problem+json")
        assert body["invalid-params"][0]["name"] == "granularity"
        assert "granularity" in body["detail"]
        status, _, body = get(f"{api}/{cached}/summary?windows=lots", reader)
        assert (status, body["invalid-params"][0]["name"]) == (400, "windows")
        assert get(f"{api}/nobody-{run}/summary", reader)[0] == 404

        # /api/v1/windows: a range of closed windows, oldest first, from the store
        ranged = f"{worker.web}/api/v1/windows?service={stored}&size=60"
        assert get(ranged, None)[0] == 401
        status, _, body = get(f"{ranged}&from={time.time() - 3 * 3600:.0f}", reader)
        assert status == 200, body
        assert [w["events"] for w in body["windows"]] == [1, 2, 3, 4, 5, 6]
        assert (body["size_s"], body["route"], body["truncated"]) == (60, None, False)
        assert not {"end_at", "closed_at"} & set(body["windows"][0])
        status, _, body = get(f"{ranged}&from={time.time() - 3 * 3600:.0f}&limit=2", reader)
        assert [w["events"] for w in body["windows"]] == [1, 2] and body["truncated"]
        start = body["windows"][1]["start"]
        iso_from = iso_utc(start - 3600)  # ISO 8601 works too
        status, _, body = get(f"{ranged}&from={iso_from}&to={start:.0f}", reader)
        assert [w["events"] for w in body["windows"]] == [1], body  # `to` is exclusive
        for bad, name in ((f"{worker.web}/api/v1/windows", "service"),
                          (ranged.replace("size=60", "size=7"), "size"),
                          (f"{ranged}&from=yesterday", "from"),
                          (f"{ranged}&from=2&to=1", "from"), (f"{ranged}&from=0", "from"),
                          (f"{ranged}&limit=0", "limit")):
            status, ctype, body = get(bad, reader)
            assert (status, ctype, body["invalid-params"][0]["name"]) == (
                400, "application/problem+json", name), bad

        # /api/v1/summary: the overview's data under the API's name
        status, _, body = get(f"{worker.web}/api/v1/summary?range=15m", reader)
        assert status == 200 and {"kpis", "timeline", "source"} <= set(body), body
        assert get(f"{worker.web}/api/v1/summary?range=forever", reader)[0] == 400
    finally:
        worker.stop()
        asyncio.run(forget([cached, stored]))
