"""The dashboard's window cache in the real Redis: newest first, bounded, with TTLs."""

from __future__ import annotations

import os
import uuid

import pytest
from redis.asyncio import Redis

from app.adapters import window_cache
from app.adapters.window_cache import RedisWindowCache
from tests.conftest import require_tcp

pytestmark = pytest.mark.integration
URL = os.environ.get("LOGWARDEN_REDIS__URL", "redis://127.0.0.1:6380/0")


async def test_current_recent_and_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tcp("Redis", URL.split("//", 1)[1].split("/", 1)[0])
    run = uuid.uuid4().hex[:8]
    monkeypatch.setattr(window_cache, "PREFIX", f"test:{run}:win")
    monkeypatch.setattr(window_cache, "SERVICES", f"test:{run}:services")
    cache = RedisWindowCache(URL, ttl_s=120, keep=3)
    raw = Redis.from_url(URL)
    try:
        windows = [{"service": "api", "route": None, "granularity_s": 10, "start": 100.0 + i * 10,
                    "events": i} for i in range(5)]
        windows.append({"service": "api", "route": "/x", "granularity_s": 60, "start": 60.0,
                        "events": 9})
        await cache.put(windows)
        assert (await cache.current("api", 10))["events"] == 4
        assert [w["events"] for w in await cache.recent("api", 10)] == [4, 3, 2]
        assert await cache.current("api", 60) is None  # route windows are not cached
        assert await cache.services() == ["api"]
        ttl = await raw.ttl(f"test:{run}:win:api:10:recent")
        assert 0 < ttl <= 120
    finally:
        keys = [k async for k in raw.scan_iter(f"test:{run}:*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()
        await cache.close()
