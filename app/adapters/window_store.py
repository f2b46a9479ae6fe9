"""Closed windows in MongoDB (``window_stats``): idempotent upserts and retention.

Each closed window is one document whose ``_id`` is its window key. Writes *replace*
the document with the final values, and every value derives from the input (no
wall-clock stamp), so replaying ``logs.events`` (or closing a window again after a
crash) changes nothing. A unique index on (service, route, granularity, start) guards
the invariant; a TTL index on ``end_at`` (the window's end as a date) expires old windows
where the server implements TTL, and ``delete_older_than`` is the retention job for
servers that do not (mongo-java-server keeps TTL indexes but never expires).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReplaceOne

COLLECTION = "window_stats"


class MongoWindowStore:
    def __init__(self, url: str, database: str, *, retention_s: float = 7 * 86400,
                 client: AsyncMongoClient[dict[str, Any]] | None = None) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = client or AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000)
        self._windows = self._client[database][COLLECTION]
        self.retention_s = retention_s

    async def close(self) -> None:
        await self._client.close()

    async def ensure_indexes(self) -> None:
        await self._windows.create_index(
            [("service", ASCENDING), ("route", ASCENDING), ("granularity_s", ASCENDING),
             ("start", ASCENDING)], unique=True, name="window_identity")
        await self._windows.create_index("end_at", name="retention_ttl",
                                         expireAfterSeconds=int(self.retention_s))

    async def upsert(self, windows: Iterable[dict[str, Any]]) -> int:
        """Write final window documents (``WindowStats.final``); returns how many."""
        ops = [ReplaceOne({"_id": doc["_id"]},
                          {**doc, "end_at": datetime.fromtimestamp(doc["end"], tz=UTC)},
                          upsert=True)
               for doc in windows]
        if not ops:
            return 0
        await self._windows.bulk_write(ops, ordered=False)
        return len(ops)

    async def delete_older_than(self, cutoff: float) -> int:
        """Retention: remove windows that ended before ``cutoff`` (epoch seconds)."""
        result = await self._windows.delete_many({"end": {"$lt": cutoff}})
        return int(result.deleted_count)

    async def find(self, service: str, granularity_s: int, since: float, until: float,
                   route: str | None = None) -> list[dict[str, Any]]:
        query = {"service": service, "route": route, "granularity_s": granularity_s,
                 "start": {"$gte": since, "$lt": until}}
        return [doc async for doc in self._windows.find(query).sort("start", ASCENDING)]

    async def newest_per_service(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest closed window's end per (service, granularity), newest first."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"route": None}},
            {"$group": {"_id": {"service": "$service", "granularity_s": "$granularity_s"},
                        "end": {"$max": "$end"}, "windows": {"$sum": 1}}},
            {"$sort": {"end": -1}}, {"$limit": limit}]
        return [{"service": d["_id"]["service"], "granularity_s": d["_id"]["granularity_s"],
                 "end": d["end"], "windows": d["windows"]}
                async for d in await self._windows.aggregate(pipeline)]
