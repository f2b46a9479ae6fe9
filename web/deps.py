"""Per-process clients the web views share, created on first use, closed at shutdown.

Also the API's shared request plumbing: the RFC 9457 problem response and bearer-token
authorization by scope of the principal ``web.auth`` authenticated.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

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

_token_store: MongoTokenStore | None = None
_window_cache: RedisWindowCache | None = None
_window_store: MongoWindowStore | None = None
_alert_store: MongoAlertStore | None = None
_replay_log: ReplayLog | None = None
_service_registry: MongoServiceRegistry | None = None


def token_store() -> MongoTokenStore:
    global _token_store
    if _token_store is None:
        _token_store = MongoTokenStore(settings.mongo.url, settings.mongo.database)
    return _token_store


def window_cache() -> RedisWindowCache:
    """Recent windows per service in Redis (the dashboard's read-through cache)."""
    global _window_cache
    if _window_cache is None:
        redis = settings.redis
        _window_cache = RedisWindowCache(redis.url, ttl_s=redis.window_ttl_s,
                                         keep=redis.recent_windows)
    return _window_cache


def window_store() -> MongoWindowStore:
    """Closed windows in MongoDB (the store of record behind the cache)."""
    global _window_store
    if _window_store is None:
        _window_store = MongoWindowStore(settings.mongo.url, settings.mongo.database,
                                         retention_s=settings.windows.retention_s)
    return _window_store


def alert_store() -> MongoAlertStore:
    """Alert transitions (history), silences and acks in MongoDB."""
    global _alert_store
    if _alert_store is None:
        _alert_store = MongoAlertStore(settings.mongo.url, settings.mongo.database)
    return _alert_store


def replay_log() -> ReplayLog:
    """Which dead letters were replayed (MongoDB ``dlq_replays``)."""
    global _replay_log
    if _replay_log is None:
        _replay_log = ReplayLog(settings.mongo.url, settings.mongo.database)
    return _replay_log


def service_registry() -> MongoServiceRegistry:
    """Service metadata (team, owner, tier) in MongoDB ``services``."""
    global _service_registry
    if _service_registry is None:
        _service_registry = MongoServiceRegistry(settings.mongo.url, settings.mongo.database)
    return _service_registry


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
    global _token_store, _window_cache, _window_store, _alert_store, _replay_log
    global _service_registry
    clients: list[MongoTokenStore | RedisWindowCache | MongoWindowStore | MongoAlertStore
                  | ReplayLog | MongoServiceRegistry | None] = [
        _token_store, _window_cache, _window_store, _alert_store, _replay_log,
        _service_registry]
    _token_store = _window_cache = _window_store = _alert_store = _replay_log = None
    _service_registry = None
    for client in clients:
        if client is not None:
            try:
                await client.close()
            except Exception as exc:  # keep closing the others
                log.warning("closing %s failed: %s", type(client).__name__, exc)
