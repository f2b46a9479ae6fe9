"""Who is asking: roles, the authenticated principal, and how claims and scopes map to roles.

Pure: no I/O, no framework. The middleware (``web.auth.middleware``) builds a
``Principal`` for every authenticated request and puts it into ``request["principal"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from app.core.tokens import Scope


class Role(IntEnum):
    """Roles, ordered: ``Role.VIEWER < Role.OPERATOR < Role.ADMIN``.

    viewer reads; operator also acks and silences alerts; admin also manages API
    tokens, rules and the dead-letter queue.
    """

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, value: str) -> Role:
        """``"viewer"`` -> ``Role.VIEWER`` (``KeyError`` for anything else)."""
        return cls[value.strip().upper()]


#: What an API token's scopes are worth as a role (``ingest`` is worth none: it only sends).
SCOPE_ROLES: Mapping[Scope, Role] = {Scope.READ: Role.VIEWER, Scope.ADMIN: Role.ADMIN}


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    name: str
    email: str | None
    roles: frozenset[Role]
    scopes: frozenset[Scope]
    via: Literal["session", "token"]

    @property
    def role(self) -> Role | None:
        """The highest role, or ``None``."""
        return max(self.roles) if self.roles else None

    def has(self, role: Role) -> bool:
        """At least ``role`` (roles are ordered)."""
        return any(mine >= role for mine in self.roles)

    def allows(self, scope: Scope) -> bool:
        """May this principal do what an API token with ``scope`` may do?

        ``read`` needs viewer, ``admin`` needs admin; ``ingest`` only API tokens with the
        ``ingest`` (or ``admin``) scope.
        """
        if self.via == "token" and (scope in self.scopes or Scope.ADMIN in self.scopes):
            return True
        needed = SCOPE_ROLES.get(scope)
        return needed is not None and self.has(needed)

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "name": self.name, "email": self.email,
                "roles": sorted(r.label for r in self.roles),
                "role": self.role.label if self.role else None,
                "scopes": sorted(s.value for s in self.scopes), "via": self.via}


def token_principal(name: str, scopes: Iterable[Scope]) -> Principal:
    scopes = frozenset(scopes)
    roles = frozenset(SCOPE_ROLES[s] for s in scopes if s in SCOPE_ROLES)
    return Principal(subject=f"token:{name}", name=name, email=None, roles=roles,
                     scopes=scopes, via="token")


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The string values at a dotted ``path`` of an ID token's claims (a list or one string)."""
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return []
        node = node[part]
    if isinstance(node, str):
        return [v for v in node.replace(",", " ").split() if v]
    if isinstance(node, list | tuple):
        return [v for v in node if isinstance(v, str)]
    return []


def roles_from_claims(claims: Mapping[str, Any], claim: str, role_map: Mapping[str, str],
                      default: str | None) -> frozenset[Role]:
    """Roles from the ID-token ``claim`` mapped by ``role_map``; ``default`` when none map."""
    roles = {Role.parse(role_map[v]) for v in claim_values(claims, claim) if v in role_map}
    if not roles and default is not None:
        roles.add(Role.parse(default))
    return frozenset(roles)


def session_principal(data: Mapping[str, Any]) -> Principal | None:
    """The principal stored in a session (see ``session_data``), or ``None``."""
    try:
        return Principal(subject=str(data["sub"]), name=str(data["name"]),
                         email=data.get("email"),
                         roles=frozenset(Role.parse(r) for r in data["roles"]),
                         scopes=frozenset(), via="session")
    except (KeyError, TypeError, ValueError):
        return None


def session_data(principal: Principal) -> dict[str, Any]:
    return {"sub": principal.subject, "name": principal.name, "email": principal.email,
            "roles": sorted(r.label for r in principal.roles)}
