"""``app.adapters.search`` against real Elasticsearch and Redis: the query language's
Elasticsearch translation and its live-tail predicate select the same events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from app.adapters.elasticsearch import ElasticsearchSink
from app.adapters.search import SearchBackend, SearchRejected, SearchUnavailable, ShortCache
from app.core.events import iso_utc
from app.core.query import compile_es, compile_predicate
from app.settings import ElasticsearchSettings
from tests.conftest import require_tcp
from tests.e2e.conftest import es_call

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6380/0"
T0 = 1_790_000_000.0  # a fixed past instant: the range below covers the docs exactly


def doc(i: int) -> dict[str, Any]:
    service = ("auth", "checkout", "search")[i % 3]
    level = (9, 13, 17)[i % 3 if i % 5 else 2]
    status = (200, 404, 500, 503)[i % 4]
    return {"event_id": f"e{i:04d}", "ts": iso_utc(T0 + i), "observed_ts": iso_utc(T0 + i),
            "service": service, "severity_number": level,
            "severity_text": {9: "INFO", 13: "WARN", 17: "ERROR"}[level],
            "message": f"request {i} {'upstream timeout' if i % 7 == 0 else 'done'} <b>x</b>",
            "is_error": level >= 17, "host": f"{service}-{i % 2}",
            "http": {"method": "GET" if i % 2 else "POST", "route": f"/api/items/{i % 3}",
                     "status": status, "status_class": f"{status // 100}xx",
                     "client_ip": f"10.0.{i % 4}.{i}", "duration_ms": float(i)},
            "attrs": {"user": f"u{i % 5}"}}


DOCS = [doc(i) for i in range(120)]


@pytest.fixture()
async def backend(es_url: str) -> AsyncIterator[SearchBackend]:
    prefix = f"it-search-{uuid.uuid4().hex[:8]}"
    sink = ElasticsearchSink(ElasticsearchSettings(url=es_url, index_prefix=prefix))
    try:
        assert await sink.write(DOCS) == []
        await sink.client.indices.refresh(index=f"{prefix}-*")
    finally:
        await sink.close()
    search = SearchBackend(es_url, prefix)
    try:
        yield search
    finally:
        await search.close()
        es_call("DELETE", f"{es_url}/{prefix}-*")
        es_call("DELETE", f"{es_url}/_index_template/{prefix}")


QUERIES = [
    "", "service:auth", 'service:auth AND level:error "upstream timeout"', "level>=warn",
    "NOT service:checkout", "status>=500", "status:4xx", "route:/api/items/*",
    "method:get OR host:search-1", "ip:10.0.2.0/24", "duration<10.5", "attrs.user:u3",
    "(service:auth OR service:search) NOT level:info", "timeout", "TIME*", "b",
    "is_error:true", f"ts>={iso_utc(T0 + 100)}", "http.route:*", "level:debug",
]


@pytest.mark.parametrize("text", QUERIES)
async def test_es_and_predicate_select_the_same_events(backend: SearchBackend,
                                                       text: str) -> None:
    page = await backend.search(compile_es(text), T0, T0 + 1000, size=200)
    expected = {d["event_id"] for d in DOCS if compile_predicate(text, T0 + 1000)(d)}
    assert {h["source"]["event_id"] for h in page.hits} == expected
    assert page.total == len(expected) and page.total_is_exact


async def test_pages_histogram_and_facets(backend: SearchBackend) -> None:
    first = await backend.search(compile_es(""), T0, T0 + 120, size=50, page=1)
    third = await backend.search(compile_es(""), T0, T0 + 120, size=50, page=3)
    assert first.total == 120
    assert [h["source"]["event_id"] for h in first.hits][:2] == ["e0119", "e0118"]  # newest
    assert len(third.hits) == 20
    assert sum(n for _, n in first.histogram) == 120 and first.interval_s == 5
    assert dict(first.facets["service"]) == {"auth": 40, "checkout": 40, "search": 40}
    assert set(dict(first.facets["status"])) == {"2xx", "4xx", "5xx"}
    narrow = await backend.search(compile_es(""), T0 + 10, T0 + 20, size=5)
    assert narrow.total == 10


async def test_overview_extras(backend: SearchBackend) -> None:
    found = await backend.overview(T0, T0 + 120, 60)
    assert found["total"] == 120
    assert [e["event_id"] for e in found["latest"][:3]] == ["e0119", "e0118", "e0117"]
    assert sorted(found["services"]) == ["auth", "checkout", "search"]
    assert sum(n for _, n in found["codes"]["404"]) == 30
    assert sum(n for _, n in found["codes"]["500"]) == 30
    assert found["p95_ms"] == pytest.approx(113, abs=2)


async def test_refused_query_is_a_plain_message(backend: SearchBackend) -> None:
    with pytest.raises(SearchRejected) as caught:
        await backend.search({"range": {"ts": {"gte": "not a date"}}}, T0, T0 + 120)
    assert "not a date" in str(caught.value) and "Traceback" not in str(caught.value)
    with pytest.raises(SearchRejected, match="pages beyond"):
        await backend.search(compile_es(""), T0, T0 + 120, size=50, page=1000)


async def test_unreachable_cluster_is_unavailable() -> None:
    search = SearchBackend("http://127.0.0.1:9", "nothing", request_timeout_s=2)
    try:
        with pytest.raises(SearchUnavailable):
            await search.search(compile_es(""), T0, T0 + 10)
    finally:
        await search.close()


async def test_short_cache_computes_once_per_ttl() -> None:
    require_tcp("Redis", "127.0.0.1:6380")
    prefix = f"it-short-{uuid.uuid4().hex[:8]}"
    cache = ShortCache(REDIS_URL, prefix=prefix)
    calls: list[int] = []

    async def compute() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    try:
        assert await cache.get_or_compute("k", 0.5, compute) == {"n": 1}
        assert await cache.get_or_compute("k", 0.5, compute) == {"n": 1}
        await asyncio.sleep(0.7)
        assert await cache.get_or_compute("k", 0.5, compute) == {"n": 2}
    finally:
        await cache.close()
        redis = Redis.from_url(REDIS_URL)
        await redis.delete(f"{prefix}:k")
        await redis.aclose()
