"""Alert history in MongoDB: transitions, silences and acknowledgements.

Documents are keyed by their own ids (a transition's id derives from fingerprint,
activation and target state), and writes replace: replaying ``alerts.transitions`` or
``alerts.silences`` changes nothing that is already right.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne

TRANSITIONS = "alert_transitions"
SILENCES = "alert_silences"


class MongoAlertStore:
    def __init__(self, url: str, database: str,
                 client: AsyncMongoClient[dict[str, Any]] | None = None) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = client or AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000)
        db = self._client[database]
        self._transitions = db[TRANSITIONS]
        self._silences = db[SILENCES]

    async def close(self) -> None:
        await self._client.close()

    async def ensure_indexes(self) -> None:
        await self._transitions.create_index([("fingerprint", ASCENDING), ("at", ASCENDING)],
                                             name="by_alert")
        await self._transitions.create_index([("rule", ASCENDING), ("at", DESCENDING)],
                                             name="by_rule")

    async def record_transitions(self, docs: Iterable[dict[str, Any]]) -> int:
        ops = [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs]
        if ops:
            await self._transitions.bulk_write(ops, ordered=False)
        return len(ops)

    async def record_mutes(self, docs: Iterable[dict[str, Any]]) -> int:
        """Silences and acks (``Silence.to_doc`` / ``Ack.to_doc``), by id."""
        ops = [ReplaceOne({"_id": doc["id"]}, {**doc, "_id": doc["id"]}, upsert=True)
               for doc in docs]
        if ops:
            await self._silences.bulk_write(ops, ordered=False)
        return len(ops)

    async def transitions(self, *, rule: str | None = None, fingerprint: str | None = None,
                          limit: int = 500) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if rule is not None:
            query["rule"] = rule
        if fingerprint is not None:
            query["fingerprint"] = fingerprint
        cursor = self._transitions.find(query).sort("at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def mutes(self) -> list[dict[str, Any]]:
        return [doc async for doc in self._silences.find({})]
