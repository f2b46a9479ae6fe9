"""Elasticsearch sink: bulk writes that never drop a document.

Retryable failures (connection errors, 429, 5xx) are retried with capped exponential
backoff for as long as it takes, so an outage slows the pipeline instead of losing
events. Documents the cluster refuses for good (mapping errors) are returned to the
caller, which sends them to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from app.core.indexing import (
    RETRYABLE_STATUSES,
    bulk_operations,
    classify_bulk_items,
    expired_indices,
    index_template,
)
from app.metrics import SINK_LATENCY, SINK_RETRIES
from app.settings import ElasticsearchSettings

log = logging.getLogger(__name__)


class ElasticsearchSink:
    def __init__(self, settings: ElasticsearchSettings,
                 client: AsyncElasticsearch | None = None) -> None:
        self.settings = settings
        self.client = client or AsyncElasticsearch(
            settings.url, request_timeout=settings.request_timeout_s, max_retries=0)
        self._template_ready = False

    async def close(self) -> None:
        await self.client.close()

    async def ensure_template(self) -> None:
        """Install the index template (idempotent), retrying until the cluster answers."""
        s = self.settings
        body = index_template(s.index_prefix, shards=s.shards, replicas=s.replicas)
        await self._retrying("put index template",
                             lambda: self.client.indices.put_index_template(
                                 name=s.index_prefix, **body))
        self._template_ready = True

    async def write(self, docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        """Index ``docs``; return the ones rejected for good, with the reason."""
        if not self._template_ready:
            await self.ensure_template()
        rejected: list[tuple[dict[str, Any], str]] = []
        pending, attempt = docs, 0
        while pending:
            started = time.perf_counter()
            ops = bulk_operations(pending, self.settings.index_prefix)
            response = await self._retrying(
                "bulk", lambda ops=ops: self.client.bulk(operations=ops))
            outcome = classify_bulk_items(pending, response["items"])
            SINK_LATENCY.labels("elasticsearch").observe(time.perf_counter() - started)
            rejected.extend(outcome.rejected)
            pending = outcome.retry
            if pending:
                attempt += 1
                SINK_RETRIES.labels("elasticsearch").inc()
                log.warning("elasticsearch: %d of %d documents need a retry (attempt %d)",
                            len(pending), len(docs), attempt)
                await asyncio.sleep(self._backoff(attempt))
        return rejected

    async def delete_expired(self, keep_days: int, today: str) -> list[str]:
        """Retention: delete the daily indices older than ``keep_days`` (``today``: ISO date)."""
        prefix = self.settings.index_prefix
        found = await self.client.indices.get(index=f"{prefix}-*", allow_no_indices=True,
                                              expand_wildcards="open,closed")
        doomed = expired_indices(prefix, list(found), today=today, keep_days=keep_days)
        for name in doomed:
            await self.client.indices.delete(index=name)
        return doomed

    async def _retrying(self, what: str, call: Any) -> Any:
        attempt = 0
        while True:
            try:
                return await call()
            except ApiError as exc:
                if exc.meta.status not in RETRYABLE_STATUSES:
                    raise
                error: Exception = exc
            except TransportError as exc:  # connection refused, timeout, reset
                error = exc
            attempt += 1
            SINK_RETRIES.labels("elasticsearch").inc()
            delay = self._backoff(attempt)
            log.warning("elasticsearch %s failed (attempt %d, retry in %.1fs): %s",
                        what, attempt, delay, error)
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.settings.max_backoff_s, 0.25 * 2 ** min(attempt, 16)))
