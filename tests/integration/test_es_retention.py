"""Index retention on the real Elasticsearch: old daily indices go, the rest stay."""

from __future__ import annotations

import uuid

import pytest
from elasticsearch import AsyncElasticsearch

from app.adapters.elasticsearch import ElasticsearchSink
from app.settings import ElasticsearchSettings

pytestmark = pytest.mark.integration


async def test_retention_deletes_only_expired_daily_indices(es_url: str) -> None:
    prefix = f"test-retention-{uuid.uuid4().hex[:8]}"
    sink = ElasticsearchSink(ElasticsearchSettings(url=es_url, index_prefix=prefix))
    es = AsyncElasticsearch(es_url)
    try:
        await sink.ensure_template()
        for day in ("2026.11.01", "2026.11.20", "2026.11.22"):
            await es.indices.create(index=f"{prefix}-{day}")
        await es.indices.create(index=f"{prefix}-archive")
        deleted = await sink.delete_expired(keep_days=7, today="2026-11-22")
        assert deleted == [f"{prefix}-2026.11.01"]
        left = sorted(await es.indices.get(index=f"{prefix}-*"))
        assert left == [f"{prefix}-2026.11.20", f"{prefix}-2026.11.22", f"{prefix}-archive"]
    finally:
        await es.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
        await es.options(ignore_status=404).indices.delete_index_template(name=prefix)
        await es.close()
        await sink.close()
