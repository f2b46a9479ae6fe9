"""API tokens stored (hashed) in MongoDB, with a short-lived lookup cache."""

from __future__ import annotations

import secrets
import time
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from app.core.tokens import TOKEN_PREFIX, Scope, TokenRecord, hash_token

COLLECTION = "api_tokens"


class TokenExists(Exception):
    """A token with that name already exists."""


class MongoTokenStore:
    def __init__(self, url: str, database: str, *, cache_ttl_s: float = 30.0,
                 client: AsyncMongoClient[dict[str, Any]] | None = None) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = client or AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000)
        self._tokens = self._client[database][COLLECTION]
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, TokenRecord | None]] = {}
        self._indexed = False

    async def close(self) -> None:
        await self._client.close()

    async def _ensure_index(self) -> None:
        if not self._indexed:
            await self._tokens.create_index("name", unique=True)
            self._indexed = True

    async def create(self, name: str, scopes: set[Scope]) -> str:
        """Create a token and return it; this is the only time it is visible."""
        await self._ensure_index()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            await self._tokens.insert_one({
                "_id": hash_token(token), "name": name,
                "scopes": sorted(s.value for s in scopes), "created_at": time.time(),
                "revoked_at": None,
            })
        except DuplicateKeyError:
            raise TokenExists(f"a token named {name!r} already exists") from None
        return token

    async def revoke(self, name: str) -> bool:
        result = await self._tokens.update_one(
            {"name": name, "revoked_at": None}, {"$set": {"revoked_at": time.time()}})
        self._cache.clear()
        return result.modified_count == 1

    async def list(self) -> list[TokenRecord]:
        return [_record(doc) async for doc in self._tokens.find({}).sort("name")]

    async def lookup(self, token: str) -> TokenRecord | None:
        """The record of a presented token (cached for a few seconds, misses too)."""
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        doc = await self._tokens.find_one({"_id": digest})
        record = _record(doc) if doc else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, record)
        return record


def _record(doc: dict[str, object]) -> TokenRecord:
    scopes = doc.get("scopes") or []
    assert isinstance(scopes, list)
    created, revoked = doc.get("created_at"), doc.get("revoked_at")
    return TokenRecord(name=str(doc["name"]), token_hash=str(doc["_id"]),
                       scopes=frozenset(Scope(s) for s in scopes),
                       created_at=float(created) if isinstance(created, int | float) else 0.0,
                       revoked_at=float(revoked) if isinstance(revoked, int | float) else None)
