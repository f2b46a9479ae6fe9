"""Per-process clients the web views share, created on first use, closed at shutdown.

Also the API's shared request plumbing: the RFC 9457 problem response and bearer-token
authorization by scope of the principal ``web.auth`` authenticated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
from aiohttp import web as aioweb

from app.adapters.alert_store import MongoAlertStore
from app.adapters.dlq import ReplayLog
from app.adapters.service_registry import MongoServiceRegistry
from app.adapters.tokens import MongoTokenStore
from app.adapters.window_cache import RedisWindowCache
from app.adapters.window_store import MongoWindowStore
from app.core.tokens import Scope
from app.faust_app import app, settings

if TYPE_CHECKING:
    from web.auth.principal import Principal

log = logging.getLogger(__name__)

_clients: dict[str, Any] = {}  # name -> client, created on first use, closed at shutdown
C = TypeVar("C")


def _shared(name: str, make: Callable[[], C]) -> C:
    """The process's one ``name`` client, made by ``make`` on first use."""
    client = _clients.get(name)
    if client is None:
        client = _clients[name] = make()
    return cast(C, client)


def token_store() -> MongoTokenStore:
    return _shared("token_store",
                   lambda: MongoTokenStore(settings.mongo.url, settings.mongo.database))


def window_cache() -> RedisWindowCache:
    """Recent windows per service in Redis (the dashboard's read-through cache)."""
    redis = settings.redis
    return _shared("window_cache", lambda: RedisWindowCache(
        redis.url, ttl_s=redis.window_ttl_s, keep=redis.recent_windows))


def window_store() -> MongoWindowStore:
    """Closed windows in MongoDB (the store of record behind the cache)."""
    return _shared("window_store", lambda: MongoWindowStore(
        settings.mongo.url, settings.mongo.database, retention_s=settings.windows.retention_s))


def alert_store() -> MongoAlertStore:
    """Alert transitions (history), silences and acks in MongoDB."""
    return _shared("alert_store",
                   lambda: MongoAlertStore(settings.mongo.url, settings.mongo.database))


def replay_log() -> ReplayLog:
    """Which dead letters were replayed (MongoDB ``dlq_replays``)."""
    return _shared("replay_log", lambda: ReplayLog(settings.mongo.url, settings.mongo.database))


def service_registry() -> MongoServiceRegistry:
    """Service metadata (team, owner, tier) in MongoDB ``services``."""
    return _shared("service_registry",
                   lambda: MongoServiceRegistry(settings.mongo.url, settings.mongo.database))


def problem(status: int, title: str, detail: str, **extra: Any) -> aioweb.Response:
    """An RFC 9457 problem document (the API's one error shape)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="logwarden"'} if status == 401 else None
    return aioweb.Response(body=orjson.dumps(body), status=status, headers=headers,
                           content_type="application/problem+json")


def ok_json(body: Any, status: int = 200) -> aioweb.Response:
    """A JSON answer (orjson)."""
    return aioweb.Response(body=orjson.dumps(body), status=status,
                           content_type="application/json")


def bad_param(name: str, reason: str) -> aioweb.Response:
    """The 400 problem for one invalid parameter (or body field) ``name``."""
    return problem(400, "Bad Request", f"invalid {name}: {reason}",
                   **{"invalid-params": [{"name": name, "reason": reason}]})


async def authenticate(request: Any, scope: Scope) -> Principal | aioweb.Response:
    """The request's principal if it may do what ``scope`` allows, else the 401/403 problem.

    ``web.auth``'s middleware authenticated the request (API token or session) already.
    """
    principal = request.get("principal")
    if principal is None:
        return problem(401, "Unauthorized", "send an API token: Authorization: Bearer <token>")
    if not principal.allows(scope):
        what = "token" if principal.via == "token" else "account"
        return problem(403, "Forbidden", f"this {what} lacks the {scope.value!r} scope")
    return cast("Principal", principal)


@app.on_before_shutdown.connect  # type: ignore[arg-type]  # mypy: union of callables
async def _close_clients(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
    clients = list(_clients.values())
    _clients.clear()
    for client in clients:
        try:
            await client.close()
        except Exception as exc:  # keep closing the others
            log.warning("closing %s failed: %s", type(client).__name__, exc)
