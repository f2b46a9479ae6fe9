"""Chunked, concurrent ``_bulk`` writes on the real Elasticsearch: all searchable, replay-safe."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from app.adapters.elasticsearch import ElasticsearchSink
from app.settings import ElasticsearchSettings

pytestmark = pytest.mark.integration


def events(n: int, run: str) -> list[dict[str, Any]]:
    days = ("2026-11-21", "2026-11-22")
    return [{"event_id": f"{run}-{i:05d}", "ts": f"{days[i % 2]}T04:00:{i % 60:02d}.000Z",
             "service": f"svc-{i % 3}", "severity_number": 9, "message": f"line {i} {run}",
             "http": {"status": 200 if i % 5 else 503}} for i in range(n)]


async def test_chunks_in_parallel_are_all_searchable_with_deterministic_ids(es_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    prefix = f"test-chunks-{run}"
    settings = ElasticsearchSettings(url=es_url, index_prefix=prefix, bulk_max_docs=300,
                                     bulk_concurrency=3)
    sink = ElasticsearchSink(settings)
    es = AsyncElasticsearch(es_url)
    docs = events(2_000, run)  # 7 chunks, 3 in flight
    try:
        assert await sink.write(docs) == []
        await es.indices.refresh(index=f"{prefix}-*")
        assert (await es.count(index=prefix))["count"] == 2_000
        per_day = sorted(await es.indices.get(index=f"{prefix}-*"))
        assert per_day == [f"{prefix}-2026.11.21", f"{prefix}-2026.11.22"]

        # _id is the event_id: a replay overwrites, it does not duplicate
        assert await sink.write(list(reversed(docs))) == []
        await es.indices.refresh(index=f"{prefix}-*")
        assert (await es.count(index=prefix))["count"] == 2_000
        found = await es.search(index=prefix, query={"term": {"service": "svc-1"}},
                                size=1_000, sort=[{"event_id": "asc"}], version=True)
        hits = found["hits"]["hits"]
        assert len(hits) == sum(1 for d in docs if d["service"] == "svc-1")
        assert all(h["_id"] == h["_source"]["event_id"] for h in hits)
        assert all(h["_version"] == 2 for h in hits)
    finally:
        await es.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
        await es.options(ignore_status=404).indices.delete_index_template(name=prefix)
        await es.close()
        await sink.close()


async def test_a_rejected_document_in_one_chunk_does_not_stop_the_others(es_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    prefix = f"test-chunks-{run}"
    sink = ElasticsearchSink(ElasticsearchSettings(url=es_url, index_prefix=prefix,
                                                   bulk_max_docs=50, bulk_concurrency=2))
    es = AsyncElasticsearch(es_url)
    docs = events(400, run)
    docs[123]["http"] = {"status": "teapot"}  # the mapping says short
    try:
        rejected = await sink.write(docs)
        assert [d["event_id"] for d, _ in rejected] == [f"{run}-00123"]
        assert "400" in rejected[0][1]
        await es.indices.refresh(index=f"{prefix}-*")
        assert (await es.count(index=prefix))["count"] == 399
    finally:
        await es.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
        await es.options(ignore_status=404).indices.delete_index_template(name=prefix)
        await es.close()
        await sink.close()
