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

    async def latest_per_alert(self, scan: int = 20000) -> list[dict[str, Any]]:
        """Each alert's (fingerprint's) newest transition, newest first.

        Newest means highest activation, then latest ``at``, then the later state of the
        lifecycle (a rule with ``for: 0`` makes pending and firing at the same instant).
        The web reads the current alert state from this: an alert whose newest
        transition goes to ``pending`` or ``firing`` is active. Folded here from the
        newest ``scan`` transitions (the MongoDB-wire servers we run on lack ``$switch``
        and ``$top``).
        """
        rank = {"inactive": 0, "pending": 1, "firing": 2, "resolved": 3}
        cursor = self._transitions.find({}).sort("at", DESCENDING).limit(scan)
        best: dict[str, tuple[tuple[int, float, int], dict[str, Any]]] = {}
        async for doc in cursor:
            key = (int(doc.get("activation") or 0), float(doc.get("at") or 0.0),
                   rank.get(str(doc.get("to")), 0))
            fp = str(doc.get("fingerprint"))
            if fp not in best or key > best[fp][0]:
                best[fp] = (key, doc)
        return [doc for _, doc in sorted(best.values(), key=lambda kd: -kd[0][1])]

    async def recent_transitions(self, *, limit: int = 100,
                                 since: float | None = None) -> list[dict[str, Any]]:
        """The newest transitions of every alert, newest first."""
        query: dict[str, Any] = {} if since is None else {"at": {"$gte": since}}
        cursor = self._transitions.find(query).sort("at", DESCENDING).limit(limit)
        return [doc async for doc in cursor]
