"""``/``: the overview page, and ``GET /api/v1/overview?range=15m`` (its data, JSON).

Counts, levels, services, HTTP statuses, requests per minute and top routes/clients come
from closed windows: the Redis window cache when the range fits in what it keeps
(``redis.recent_windows`` per service and size), MongoDB ``window_stats`` otherwise.
What windows do not hold — p95 latency over the range, the 404/500 curves and the latest
events — comes from one Elasticsearch request, cached in Redis for
``dashboard.cache_ttl_s``. The page refreshes itself every ``dashboard.refresh_s``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.adapters.search import SearchError, interval_for
from app.core.tokens import Scope
from app.faust_app import app, settings
from web.auth import Role, require
from web.deps import authenticate, problem, window_cache, window_store
from web.pages.clients import search_backend, short_cache
from web.pages.model import overview_from_windows
from web.pages.setup import render
from web.pages.timerange import PRESETS, iso

log = logging.getLogger(__name__)
#: the overview's ranges (the search page offers longer ones)
RANGES = ("5m", "15m", "1h", "6h", "24h")
DEFAULT_RANGE = "15m"


def granularity_for(span_s: float) -> int:
    """The smallest window size whose windows over ``span_s`` the cache can hold."""
    sizes = sorted(settings.windows.service_sizes_s)
    keep = settings.redis.recent_windows
    for size in sizes:
        if span_s / size <= keep:
            return size
    return 60 if 60 in sizes else sizes[-1]


async def _cached_windows(granularity: int, since: float, until: float
                          ) -> list[dict[str, Any]]:
    cache = window_cache()
    services = await cache.services()
    lists = await asyncio.gather(*(cache.recent(s, granularity) for s in services))
    return [w for found in lists for w in found if since <= float(w["start"]) < until]


async def _stored_windows(services: list[str], granularity: int, since: float,
                          until: float) -> list[dict[str, Any]]:
    store = window_store()
    lists = await asyncio.gather(*(store.find(s, granularity, since, until) for s in services))
    return [w for found in lists for w in found]


async def windows_for(granularity: int, since: float, until: float,
                      es_services: list[str]) -> tuple[list[dict[str, Any]], str]:
    """Closed windows of every service in the range, and where they came from."""
    if (until - since) / granularity <= settings.redis.recent_windows:
        try:
            found = await _cached_windows(granularity, since, until)
            if found:
                return found, "cache"
        except Exception as exc:  # Redis down: the store answers
            log.warning("overview: window cache read failed (using the store): %s", exc)
    try:
        return await _stored_windows(es_services, granularity, since, until), "store"
    except Exception as exc:
        log.warning("overview: window store read failed: %s", exc)
        return [], "none"


async def overview_data(preset: str, now: float) -> dict[str, Any]:
    span = PRESETS[preset]
    since, until = now - span, now
    granularity = granularity_for(span)
    bucket = math.ceil(max(granularity, interval_for(span)) / granularity) * granularity
    problems: list[str] = []

    async def from_es() -> dict[str, Any]:
        return await search_backend().overview(since, until, bucket)

    try:
        extra = await short_cache().get_or_compute(
            f"overview:{preset}", settings.dashboard.cache_ttl_s, from_es)
    except SearchError as exc:
        problems.append(str(exc))
        extra = {"p95_ms": None, "total": 0, "codes": {"404": [], "500": []},
                 "latest": [], "services": []}
    windows, source = await windows_for(granularity, since, until, extra["services"])
    if source == "none":
        problems.append("the window statistics are not available")
    data = overview_from_windows(windows, since, until, bucket)
    data["kpis"]["p95_ms"] = extra["p95_ms"]
    data["kpis"]["indexed"] = extra["total"]
    data.update({
        "range": preset, "from": iso(since), "to": iso(until), "granularity_s": granularity,
        "source": source, "codes": extra["codes"], "latest": extra["latest"],
        "problems": problems, "generated_at": iso(now),
        "refresh_s": settings.dashboard.refresh_s,
    })
    return data


def _preset(request: Any) -> str | None:
    preset = request.query.get("range") or DEFAULT_RANGE
    return preset if preset in RANGES else None


@app.page("/")
class OverviewPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.VIEWER)
        preset = _preset(request)
        if preset is None:
            raise aioweb.HTTPFound("/")
        data = await overview_data(preset, time.time())
        return render(request, "overview.html", {"data": data, "ranges": RANGES},
                      active="overview")


@app.page("/api/v1/overview")
class OverviewApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        preset = _preset(request)
        if preset is None:
            return problem(400, "Bad Request", f"invalid query parameter 'range': must be "
                                               f"one of {', '.join(RANGES)}",
                           **{"invalid-params": [{"name": "range",
                                                  "reason": f"one of {', '.join(RANGES)}"}]})
        return aioweb.Response(body=orjson.dumps(await overview_data(preset, time.time())),
                               content_type="application/json")


@app.page("/api/v1/summary")
class SummaryApi(OverviewApi):
    """``GET /api/v1/summary?range=15m``: the overview's data under the API's own name."""
