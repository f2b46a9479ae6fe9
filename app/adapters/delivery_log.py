"""Delivery records in MongoDB (``deliveries``): one document per (key, channel).

The record is what makes delivery idempotent: the notify agent reads it before a send
(``app.core.delivery.decide``) and never sends a key a channel already has. Each send is
bracketed by two writes: ``start`` (status ``sending``, the attempt number) just before
the send, and ``finish`` (the attempt appended: n, at, result, error; the new status)
immediately after it, with nothing else awaited in between. Residual window: a worker
that dies after the channel accepted a message and before ``finish`` reached MongoDB
leaves the record in ``sending``; a replay then sends it again (at-least-once, never
lost). It is the only way a channel gets a notification twice, and the record shows it
(an attempt number with no outcome). Writes are retried with capped backoff until
MongoDB takes them, so a MongoDB outage delays deliveries instead of forgetting them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from app.adapters.retrying import until_done
from app.core.delivery import AttemptResult, DeliveryStatus, attempt_entry

log = logging.getLogger(__name__)

COLLECTION = "deliveries"
T = TypeVar("T")


class MongoDeliveryLog:
    def __init__(self, url: str, database: str, *, max_backoff_s: float = 30.0,
                 client: AsyncMongoClient[dict[str, Any]] | None = None) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = client or AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000)
        self._records = self._client[database][COLLECTION]
        self.max_backoff_s = max_backoff_s

    async def close(self) -> None:
        await self._client.close()

    async def ensure_indexes(self) -> None:
        await self._retry("create index", lambda: self._records.create_index(
            [("key", ASCENDING), ("channel", ASCENDING)], unique=True,
            name="delivery_identity"))

    async def get(self, key: str, channel: str) -> dict[str, Any] | None:
        return await self._retry("read", lambda: self._records.find_one(
            {"key": key, "channel": channel}, {"_id": 0}))

    async def find(self, key: str) -> list[dict[str, Any]]:
        """Every channel's record of one notification key (tests, CLI)."""
        cursor = self._records.find({"key": key}, {"_id": 0}).sort("channel", ASCENDING)
        return [doc async for doc in cursor]

    async def start(self, key: str, channel: str, attempt: int, at: float,
                    meta: dict[str, Any]) -> None:
        """Mark attempt ``attempt`` as in flight (creates the record on the first one)."""
        await self._upsert({"key": key, "channel": channel}, {
            "$set": {"status": DeliveryStatus.SENDING.value, "sending_attempt": attempt,
                     "sending_at": at, "updated_at": at},
            "$setOnInsert": {**meta, "first_at": at, "attempts": []}})

    async def finish(self, key: str, channel: str, attempt: int, at: float,
                     result: AttemptResult, status: DeliveryStatus,
                     error: str | None = None) -> None:
        """Append the attempt's outcome and set the record's status."""
        update: dict[str, Any] = {
            "$push": {"attempts": attempt_entry(attempt, at, result, error)},
            "$set": {"status": status.value, "updated_at": at},
            "$unset": {"sending_attempt": "", "sending_at": ""}}
        if status is DeliveryStatus.DELIVERED:
            update["$set"]["delivered_at"] = at
        await self._upsert({"key": key, "channel": channel}, update)

    async def rate_limited(self, key: str, channel: str, attempt: int, at: float,
                           delay_s: float, meta: dict[str, Any]) -> None:
        """Note that attempt ``attempt`` waits ``delay_s`` for the channel's rate limit."""
        await self._upsert({"key": key, "channel": channel}, {
            "$push": {"attempts": attempt_entry(
                attempt, at, AttemptResult.RATE_LIMITED,
                f"delayed {delay_s:.1f}s by the channel's rate limit", delay_s)},
            "$set": {"updated_at": at},
            "$setOnInsert": {**meta, "first_at": at, "status": DeliveryStatus.RETRYING.value}})

    async def _upsert(self, query: dict[str, Any], update: dict[str, Any]) -> None:
        async def once() -> None:
            try:
                await self._records.update_one(query, update, upsert=True)
            except DuplicateKeyError:  # two upserts raced to create it: now it exists
                await self._records.update_one(query, update)

        await self._retry("write", once)

    async def _retry(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await until_done(call, retry_on=PyMongoError, what=f"delivery log {what}",
                                max_backoff_s=self.max_backoff_s, log=log)
