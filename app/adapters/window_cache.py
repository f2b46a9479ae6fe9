"""Recent window statistics per service in Redis, for the dashboard (read-through cache).

Keys (all with a TTL, so a service that goes away ages out):
``lw:win:{service}:{granularity}:current`` — the newest window's document (JSON);
``lw:win:{service}:{granularity}:recent`` — the last ``keep`` windows, newest first;
``lw:services`` — a sorted set of services scored by their newest window's start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from redis.asyncio import Redis

PREFIX = "lw:win"
SERVICES = "lw:services"


class RedisWindowCache:
    def __init__(self, url: str, *, ttl_s: int = 3600, keep: int = 60,
                 client: Redis | None = None) -> None:
        self._redis: Redis = client or Redis.from_url(url)
        self.ttl_s, self.keep = ttl_s, keep

    async def close(self) -> None:
        await self._redis.aclose()

    async def put(self, windows: Iterable[dict[str, Any]]) -> None:
        """Cache service-level windows (``route`` None) in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for window in sorted(windows, key=lambda w: w["start"]):
            if window.get("route") is not None:
                continue
            base = f"{PREFIX}:{window['service']}:{window['granularity_s']}"
            body = orjson.dumps(window)
            pipe.set(f"{base}:current", body, ex=self.ttl_s)
            pipe.lpush(f"{base}:recent", body)
            pipe.ltrim(f"{base}:recent", 0, self.keep - 1)
            pipe.expire(f"{base}:recent", self.ttl_s)
            pipe.zadd(SERVICES, {window["service"]: window["start"]})
        pipe.expire(SERVICES, self.ttl_s)
        await pipe.execute()

    async def current(self, service: str, granularity_s: int) -> dict[str, Any] | None:
        raw = await self._redis.get(f"{PREFIX}:{service}:{granularity_s}:current")
        return None if raw is None else dict(orjson.loads(raw))

    async def recent(self, service: str, granularity_s: int) -> list[dict[str, Any]]:
        raws = await self._redis.lrange(f"{PREFIX}:{service}:{granularity_s}:recent", 0, -1)
        return [dict(orjson.loads(raw)) for raw in raws]

    async def services(self) -> list[str]:
        members = await self._redis.zrevrange(SERVICES, 0, -1)
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]
