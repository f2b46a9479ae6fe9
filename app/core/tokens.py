"""API tokens: what a token may do, and how it is recognised without being stored.

A token is shown once, at creation; only its SHA-256 hash is stored. Tokens carry
scopes: ``ingest`` (send logs), ``read`` (query the API), ``admin`` (everything).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

TOKEN_PREFIX = "lw_"  # noqa: S105 - a visible prefix, not a secret


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    name: str
    token_hash: str
    scopes: frozenset[Scope]
    created_at: float
    revoked_at: float | None = None

    def allows(self, scope: Scope) -> bool:
        """Admin tokens can do everything; revoked tokens nothing."""
        if self.revoked_at is not None:
            return False
        return scope in self.scopes or Scope.ADMIN in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, if any."""
    if not authorization:
        return None
    kind, _, value = authorization.strip().partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
