"""Roles, principals and the claim/scope -> role mapping (pure)."""

from __future__ import annotations

from app.core.tokens import Scope
from web.auth.principal import (
    Principal,
    Role,
    claim_values,
    roles_from_claims,
    session_data,
    session_principal,
    token_principal,
)

IDENTITY = {"viewer": "viewer", "operator": "operator", "admin": "admin"}


def test_roles_are_ordered_and_named() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN
    assert str(Role.OPERATOR) == "operator" and Role.parse(" Admin ") is Role.ADMIN


def test_claims_map_to_roles_with_nested_claims_strings_and_default() -> None:
    claims = {"roles": ["operator", "x"], "realm_access": {"roles": ["lw-admins"]},
              "groups": "a viewer"}
    assert roles_from_claims(claims, "roles", IDENTITY, None) == {Role.OPERATOR}
    assert roles_from_claims(claims, "realm_access.roles", {"lw-admins": "admin"},
                             None) == {Role.ADMIN}
    assert claim_values(claims, "groups") == ["a", "viewer"]
    assert roles_from_claims({}, "roles", IDENTITY, None) == frozenset()
    assert roles_from_claims({"roles": "nope"}, "roles", IDENTITY, "viewer") == {Role.VIEWER}
    assert claim_values({"roles": 3}, "roles") == []


def test_token_scopes_and_session_roles() -> None:
    reader = token_principal("r", {Scope.READ})
    assert reader.role is Role.VIEWER and reader.allows(Scope.READ)
    assert not reader.allows(Scope.INGEST) and not reader.has(Role.OPERATOR)
    ingest = token_principal("i", {Scope.INGEST})
    assert ingest.role is None and ingest.allows(Scope.INGEST) and not ingest.allows(Scope.READ)
    admin = token_principal("a", {Scope.ADMIN})
    assert admin.has(Role.OPERATOR) and admin.allows(Scope.INGEST)

    ada = Principal("ada", "Ada", None, frozenset({Role.OPERATOR}), frozenset(), "session")
    assert ada.allows(Scope.READ) and not ada.allows(Scope.ADMIN)
    assert not ada.allows(Scope.INGEST)  # sessions do not ingest
    assert session_principal(session_data(ada)) == ada
    assert session_principal({"sub": "x"}) is None
    assert session_principal({"sub": "x", "name": "x", "roles": ["root"]}) is None
