"""Service metadata in MongoDB: the operators' source of truth for team, owner, tier, env.

Collection ``services``, one document per service::

    {_id: "checkout", team: "payments", owner: "alice", tier: "1", env: "prod",
     updated_at: ISODate(...)}

``refresh_forever`` reloads the collection every ``interval_s`` and swaps the snapshot of
a ``ServiceDirectory`` (``app.core.enrichment.metadata``), so edits apply without a
restart. When MongoDB is down it logs and keeps the last good snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from app.core.enrichment.metadata import ServiceDirectory, ServiceInfo

log = logging.getLogger(__name__)

COLLECTION = "services"
_FIELDS = ("team", "owner", "tier", "env")


def _now() -> datetime:
    return datetime.now(UTC)


def info_from_doc(doc: Mapping[str, Any]) -> ServiceInfo | None:
    """A ``ServiceInfo`` from a document, or None when the document is unusable."""
    service = doc.get("_id")
    if not isinstance(service, str) or not service:
        return None
    values = {key: value if isinstance(value := doc.get(key), str) and value else None
              for key in _FIELDS}
    updated = doc.get("updated_at")
    updated_at = None
    if isinstance(updated, datetime):
        # pymongo returns naive UTC datetimes unless tz_aware is set
        updated_at = (updated if updated.tzinfo else updated.replace(tzinfo=UTC)).timestamp()
    return ServiceInfo(service=service, updated_at=updated_at, **values)


def doc_from_info(info: ServiceInfo, updated_at: datetime) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": info.service, "updated_at": updated_at}
    for key in _FIELDS:
        value = getattr(info, key)
        if value is not None:
            doc[key] = value
    return doc


class MongoServiceRegistry:
    """Reads and edits the ``services`` collection of ``database`` at ``url``."""

    def __init__(self, url: str, database: str, *, collection: str = COLLECTION,
                 timeout_ms: int = 5000,
                 client: AsyncMongoClient[dict[str, Any]] | None = None,
                 clock: Callable[[], datetime] = _now) -> None:
        self.url, self.database_name = url, database
        self._owns_client = client is None
        self.client: AsyncMongoClient[dict[str, Any]] = client or AsyncMongoClient(
            url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms * 2, appname="logwarden-service-registry")
        self.collection = self.client[database][collection]
        self._clock = clock

    async def close(self) -> None:
        if self._owns_client:
            await self.client.close()

    async def __aenter__(self) -> MongoServiceRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def upsert(self, info: ServiceInfo) -> None:
        """Create or replace the document of ``info.service`` (stamped ``updated_at``)."""
        doc = doc_from_info(info, self._clock())
        await self.collection.replace_one({"_id": info.service}, doc, upsert=True)

    async def delete(self, service: str) -> bool:
        """Remove ``service``; True if it existed."""
        result = await self.collection.delete_one({"_id": service})
        return result.deleted_count > 0

    async def load(self) -> dict[str, ServiceInfo]:
        """Every service's metadata. Raises ``PyMongoError`` when MongoDB cannot answer."""
        snapshot: dict[str, ServiceInfo] = {}
        async for doc in self.collection.find({}):
            info = info_from_doc(doc)
            if info is None:
                log.warning("service registry: skipping a document without a string _id: %r",
                            doc.get("_id"))
                continue
            snapshot[info.service] = info
        return snapshot

    async def refresh(self, directory: ServiceDirectory) -> bool:
        """Load and swap the snapshot once; on failure log, keep the old one, return False."""
        try:
            snapshot = await self.load()
        except (PyMongoError, OSError) as exc:
            log.warning("service registry: reload from %s/%s failed (%s: %s); keeping the "
                        "last good snapshot of %d services", self._redacted_url(),
                        self.database_name, type(exc).__name__, exc, len(directory))
            return False
        directory.replace(snapshot)
        return True

    async def refresh_forever(self, directory: ServiceDirectory, interval_s: float) -> None:
        """Refresh ``directory`` now and every ``interval_s`` seconds until cancelled."""
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        while True:
            await self.refresh(directory)
            await asyncio.sleep(interval_s)

    def _redacted_url(self) -> str:
        scheme, sep, rest = self.url.partition("://")
        if sep and "@" in rest:  # mongodb://user:secret@host → mongodb://***@host
            return f"{scheme}://***@{rest.rpartition('@')[2]}"
        return self.url
