"""Elasticsearch reads for the operators' pages: search hits, histograms, overview extras.

Queries go to every daily index of the prefix (``{prefix}-*``), restricted to a time
range on ``ts``. The query clause comes from ``app.core.query`` (already checked), so a
``BadRequestError`` here means the cluster refused a valid-looking query for a reason of
its own (a field mapped differently than expected): it becomes ``SearchRejected`` with
the cluster's one-line reason, never a stack trace.

``ShortCache`` keeps computed JSON in Redis for a few seconds, so that many open
dashboards cost one aggregation per interval.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, TransportError
from redis.asyncio import Redis

#: histogram intervals (seconds) the pages use; the first giving at most ``MAX_BUCKETS``
INTERVALS_S = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 3 * 3600, 6 * 3600,
               12 * 3600, 86400)
MAX_BUCKETS = 90
#: what the search facets count, by field
FACETS = {"service": "service", "level": "severity_text",
          "status": "http.status_class", "host": "host"}
#: Elasticsearch's from + size limit of plain pagination
MAX_WINDOW = 10_000


class SearchError(Exception):
    """A search that did not produce results (the message is safe to show)."""


class SearchRejected(SearchError):
    """Elasticsearch refused the query (400)."""


class SearchUnavailable(SearchError):
    """Elasticsearch did not answer."""


def interval_for(span_s: float, max_buckets: int = MAX_BUCKETS) -> int:
    """The histogram interval (seconds) that covers ``span_s`` in at most ``max_buckets``."""
    for size in INTERVALS_S:
        if span_s / size <= max_buckets:
            return size
    return INTERVALS_S[-1]


def time_filter(since: float, until: float) -> dict[str, Any]:
    return {"range": {"ts": {"gte": math.floor(since * 1000), "lt": math.ceil(until * 1000),
                             "format": "epoch_millis"}}}


@dataclass(slots=True)
class SearchPage:
    total: int
    total_is_exact: bool
    hits: list[dict[str, Any]]  # {"_id", "_index", "source"}
    histogram: list[tuple[int, int]]  # (bucket start, epoch ms; count)
    interval_s: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    took_ms: int = 0


class SearchBackend:
    def __init__(self, url: str, index_prefix: str, *, request_timeout_s: float = 15.0,
                 client: AsyncElasticsearch | None = None) -> None:
        self.client = client or AsyncElasticsearch(url, request_timeout=request_timeout_s,
                                                   max_retries=1)
        self.index = f"{index_prefix}-*"

    async def close(self) -> None:
        await self.client.close()

    async def _search(self, **body: Any) -> dict[str, Any]:
        try:
            response = await self.client.search(index=self.index, ignore_unavailable=True,
                                                allow_no_indices=True, **body)
        except BadRequestError as exc:
            raise SearchRejected(f"the search engine refused the query: {_reason(exc)}") \
                from None
        except (ApiError, TransportError) as exc:
            raise SearchUnavailable(f"the search engine is not available "
                                    f"({type(exc).__name__})") from None
        return dict(response.body)

    async def search(self, query: dict[str, Any], since: float, until: float, *,
                     size: int = 50, page: int = 1, facets: bool = True) -> SearchPage:
        """Hits newest first (page ``page`` of ``size``), the hit histogram and facets."""
        offset = (page - 1) * size
        if offset + size > MAX_WINDOW:
            raise SearchRejected(f"pages beyond result {MAX_WINDOW} are not available; "
                                 "narrow the time range or the query")
        interval = interval_for(until - since)
        aggs: dict[str, Any] = {"histogram": _histogram(since, until, interval)}
        if facets:
            aggs |= {name: {"terms": {"field": path, "size": 8}}
                     for name, path in FACETS.items()}
        body = await self._search(
            query={"bool": {"filter": [time_filter(since, until)], "must": [query]}},
            sort=[{"ts": {"order": "desc"}}, {"event_id": {"order": "asc"}}],
            size=size, from_=offset, track_total_hits=True, aggs=aggs)
        total = body.get("hits", {}).get("total", {"value": 0, "relation": "eq"})
        found = body.get("aggregations", {})
        return SearchPage(
            total=int(total.get("value", 0)), total_is_exact=total.get("relation") == "eq",
            hits=[{"_id": h["_id"], "_index": h["_index"], "source": h["_source"]}
                  for h in body.get("hits", {}).get("hits", [])],
            histogram=_buckets(found.get("histogram")), interval_s=interval,
            facets={name: [(str(b.get("key_as_string", b["key"])), int(b["doc_count"]))
                           for b in found.get(name, {}).get("buckets", [])]
                    for name in FACETS if name in found},
            took_ms=int(body.get("took", 0)))

    async def overview(self, since: float, until: float, interval_s: int, *,
                       latest: int = 50) -> dict[str, Any]:
        """What the windows do not hold: p95 latency over the range, 404 and 500 per
        bucket, the latest events, and the services seen (for ranges the cache misses)."""
        codes = {"filters": {"filters": {"404": {"term": {"http.status": 404}},
                                         "500": {"term": {"http.status": 500}}}}}
        histogram = _histogram(since, until, interval_s)
        histogram["aggs"] = {"codes": codes}
        body = await self._search(
            query={"bool": {"filter": [time_filter(since, until)]}},
            sort=[{"ts": {"order": "desc"}}], size=latest, track_total_hits=True,
            aggs={"p95": {"percentiles": {"field": "http.duration_ms", "percents": [95]}},
                  "codes": histogram,
                  "services": {"terms": {"field": "service", "size": 50}}})
        found = body.get("aggregations", {})
        p95 = (found.get("p95", {}).get("values") or {}).get("95.0")
        curves: dict[str, list[tuple[int, int]]] = {"404": [], "500": []}
        for bucket in found.get("codes", {}).get("buckets", []):
            for code, series in curves.items():
                count = bucket.get("codes", {}).get("buckets", {}).get(code, {})
                series.append((int(bucket["key"]), int(count.get("doc_count", 0))))
        return {
            "p95_ms": p95 if isinstance(p95, int | float) else None,
            "total": int(body.get("hits", {}).get("total", {}).get("value", 0)),
            "codes": curves,
            "latest": [hit["_source"] for hit in body.get("hits", {}).get("hits", [])],
            "services": [str(b["key"]) for b in found.get("services", {}).get("buckets", [])],
        }

    async def document(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            response = await self.client.get(index=index, id=doc_id)
        except ApiError as exc:
            if exc.meta.status == 404:
                return None
            raise SearchUnavailable("the search engine is not available") from None
        except TransportError:
            raise SearchUnavailable("the search engine is not available") from None
        return dict(response.body.get("_source") or {})


def _histogram(since: float, until: float, interval_s: int) -> dict[str, Any]:
    return {"date_histogram": {
        "field": "ts", "fixed_interval": f"{interval_s}s", "min_doc_count": 0,
        "extended_bounds": {"min": math.floor(since * 1000), "max": math.floor(until * 1000)}}}


def _buckets(agg: Any) -> list[tuple[int, int]]:
    if not isinstance(agg, dict):
        return []
    return [(int(b["key"]), int(b["doc_count"])) for b in agg.get("buckets", [])]


def _reason(exc: BadRequestError) -> str:
    """The most specific ``reason`` of an Elasticsearch error body, on one line."""
    body = exc.body if isinstance(exc.body, dict) else {}
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    candidates: list[Any] = []
    for shard in error.get("failed_shards") or []:
        detail = shard.get("reason") if isinstance(shard, dict) else None
        if isinstance(detail, dict):
            caused = detail.get("caused_by")
            candidates += [caused.get("reason") if isinstance(caused, dict) else None,
                           detail.get("reason")]
    for cause in error.get("root_cause") or []:
        candidates.append(cause.get("reason") if isinstance(cause, dict) else None)
    candidates += [error.get("reason"), exc.message, "bad request"]
    text = next(str(c) for c in candidates if c)
    return " ".join(text.split())[:300]


class ShortCache:
    """JSON values in Redis for a few seconds (one computation per key and interval)."""

    def __init__(self, url: str, *, prefix: str = "lw:dash",
                 client: Redis | None = None) -> None:
        self._redis: Redis = client or Redis.from_url(url)
        self.prefix = prefix

    async def close(self) -> None:
        await self._redis.aclose()

    async def get_or_compute(self, key: str, ttl_s: float,
                             compute: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value of ``key``, else ``compute()`` stored for ``ttl_s``.

        Redis trouble never fails the page: the value is computed and served uncached.
        """
        name = f"{self.prefix}:{key}"
        try:
            raw = await self._redis.get(name)
        except Exception:  # Redis down: compute, serve uncached
            raw = None
        if raw is not None:
            return orjson.loads(raw)
        value = await compute()
        with contextlib.suppress(Exception):  # best effort: the value is served anyway
            await self._redis.set(name, orjson.dumps(value), px=max(1, int(ttl_s * 1000)))
        return value
