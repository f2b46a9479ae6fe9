"""Window summaries for the dashboard and the JSON API.

``GET /api/v1/services`` lists the services that have recent windows (from the Redis
cache). ``GET /api/v1/services/{service}/summary?granularity=60&windows=N`` returns
the newest closed window of a service and the ``N`` most recent ones (newest first),
in the shape of ``WindowStats.final``. Redis answers first; when it does not hold the
``N`` windows asked for (expired, restarted, or ``N`` larger than it keeps), MongoDB
does. ``source`` in the response says which (``cache`` or ``store``).

Authenticated by an API token with the ``read`` scope (``admin`` tokens too).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web as aioweb
from faust.web import Request, Response, View

from app.core.tokens import Scope
from app.core.windows.stats import window_start
from app.faust_app import app, settings
from app.metrics import SUMMARY_READS
from web.deps import authenticate, problem, window_cache, window_store

log = logging.getLogger(__name__)

MAX_WINDOWS = 1000
DEFAULT_WINDOWS = 30
#: fields the store adds to ``WindowStats.final`` documents (dates for TTL indexes)
STORE_ONLY = frozenset({"end_at", "closed_at"})


def _json(payload: dict[str, Any]) -> aioweb.Response:
    return aioweb.Response(body=orjson.dumps(payload), content_type="application/json")


def _bad_param(name: str, reason: str) -> aioweb.Response:
    return problem(400, "Bad Request", f"invalid query parameter {name!r}: {reason}",
                   **{"invalid-params": [{"name": name, "reason": reason}]})


def _int_param(query: Any, name: str, default: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


@app.page("/api/v1/services")
class ServicesView(View):
    async def get(self, faust_request: Request) -> Response | aioweb.Response:
        denied = await authenticate(faust_request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        try:
            services = await window_cache().services()
        except Exception as exc:  # Redis down: say so, the client retries
            log.warning("listing services from the window cache failed: %s", exc)
            return problem(503, "Service Unavailable", "the window cache is not reachable")
        return _json({"services": services})


@app.page("/api/v1/services/{service}/summary")
class SummaryView(View):
    async def get(self, faust_request: Request, service: str) -> Response | aioweb.Response:
        denied = await authenticate(faust_request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        sizes = settings.windows.service_sizes_s
        granularity = _int_param(faust_request.query, "granularity",
                                 60 if 60 in sizes else max(sizes))
        if granularity not in sizes:
            known = ", ".join(str(s) for s in sizes)
            return _bad_param("granularity", f"must be one of the window sizes: {known}")
        count = _int_param(faust_request.query, "windows", DEFAULT_WINDOWS)
        if count is None or not 1 <= count <= MAX_WINDOWS:
            return _bad_param("windows", f"must be an integer from 1 to {MAX_WINDOWS}")

        source, current, windows = await self._from_cache(service, granularity, count)
        if source is None:
            try:
                stored = await self._from_store(service, granularity, count, time.time())
            except Exception as exc:
                log.warning("reading windows of %r from the store failed: %s", service, exc)
                return problem(503, "Service Unavailable", "the window store is not reachable")
            if stored:
                source, current, windows = "store", stored[0], stored
            elif current is not None:
                source = "cache"  # fewer windows than asked for, but all there are
        SUMMARY_READS.labels(source or "none").inc()
        if source is None or current is None:
            return problem(404, "Not Found",
                           f"no recent {granularity}s windows for service {service!r}")
        return _json({"service": service, "granularity_s": granularity, "source": source,
                      "current": current, "windows": windows})

    @staticmethod
    async def _from_cache(service: str, granularity: int, count: int
                          ) -> tuple[str | None, dict[str, Any] | None, list[dict[str, Any]]]:
        """``("cache", current, newest-first windows)`` on a hit, ``(None, ...)`` on a miss."""
        cache = window_cache()
        try:
            current = await cache.current(service, granularity)
            recent = await cache.recent(service, granularity) if current is not None else []
        except Exception as exc:  # Redis down: the store answers
            log.warning("window cache read failed (falling back to the store): %s", exc)
            return None, None, []
        windows = recent[:count] if recent else ([current] if current is not None else [])
        if current is not None and len(windows) >= count:
            return "cache", current, windows
        return None, current, windows

    @staticmethod
    async def _from_store(service: str, granularity: int, count: int,
                          now: float) -> list[dict[str, Any]]:
        """The ``count`` newest closed windows near ``now``, newest first."""
        # a window closes `grace_s` (plus a tick) after its end: look a little further back
        lag = math.ceil(settings.windows.grace_s / granularity) + 2
        until = window_start(now, granularity) + granularity
        since = until - (count + lag) * granularity
        found = await window_store().find(service, granularity, since, until)
        newest = found[-count:][::-1]
        return [{k: v for k, v in doc.items() if k not in STORE_ONLY} for doc in newest]


#: the longest span ``/api/v1/windows`` answers at once
MAX_SPAN_S = 7 * 86400


def _epoch_param(query: Any, name: str, default: float) -> float | None:
    """An epoch-seconds (number) or ISO 8601 query parameter; ``None`` when malformed."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        value = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return value if math.isfinite(value) else None


@app.page("/api/v1/windows")
class WindowsView(View):
    """Closed windows of one service (or one of its routes) over a time range, oldest
    first, from MongoDB ``window_stats``: what the alert rules and the pages read."""

    async def get(self, faust_request: Request) -> Response | aioweb.Response:
        denied = await authenticate(faust_request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        query = faust_request.query
        service = query.get("service") or ""
        if not service:
            return _bad_param("service", "required: the service whose windows to read")
        route = query.get("route") or None
        sizes = settings.windows.route_sizes_s if route else settings.windows.service_sizes_s
        if not sizes:
            return _bad_param("route", "this deployment keeps no per-route windows")
        size = _int_param(query, "size", 60 if 60 in sizes else max(sizes))
        if size not in sizes:
            known = ", ".join(str(s) for s in sizes)
            return _bad_param("size", f"must be one of the window sizes: {known}")
        now = time.time()
        until = _epoch_param(query, "to", now)
        if until is None:
            return _bad_param("to", "epoch seconds or an ISO 8601 time")
        since = _epoch_param(query, "from", until - 3600)
        if since is None:
            return _bad_param("from", "epoch seconds or an ISO 8601 time")
        if not since < until or until - since > MAX_SPAN_S:
            return _bad_param("from", f"must be before 'to', at most {MAX_SPAN_S} s earlier")
        limit = _int_param(query, "limit", MAX_WINDOWS)
        if limit is None or not 1 <= limit <= MAX_WINDOWS:
            return _bad_param("limit", f"must be an integer from 1 to {MAX_WINDOWS}")
        try:
            found = await window_store().find(service, size, since, until, route)
        except Exception as exc:
            log.warning("reading windows of %r from the store failed: %s", service, exc)
            return problem(503, "Service Unavailable", "the window store is not reachable")
        windows = [{k: v for k, v in doc.items() if k not in STORE_ONLY}
                   for doc in found[:limit]]
        return _json({"service": service, "route": route, "size_s": size, "from": since,
                      "to": until, "truncated": len(found) > limit, "windows": windows})
