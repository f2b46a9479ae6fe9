"""Elasticsearch sink: bulk writes that never drop a document.

Retryable failures (connection errors, 429, 5xx) are retried with capped exponential
backoff for as long as it takes, so an outage slows the pipeline instead of losing
events. Documents the cluster refuses for good (mapping errors) are returned to the
caller, which sends them to the dead-letter topic.

``write`` splits its documents into chunks of at most ``bulk_max_docs`` and keeps up to
``bulk_concurrency`` ``_bulk`` requests in flight per sink (a semaphore held only for
the request itself, not during backoff). Each chunk keeps the guarantees above on its
own; ``write`` returns when every chunk is written or rejected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from elastic_transport import OrjsonSerializer
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from app.adapters.retrying import backoff_s
from app.core.eventbatch import RawEvent
from app.core.indexing import (
    BULK_RESPONSE_FILTER,
    RETRYABLE_STATUSES,
    bulk_operations,
    classify_bulk_items,
    expired_indices,
    index_template,
    raw_bulk_operations,
)
from app.metrics import SINK_IN_FLIGHT, SINK_LATENCY, SINK_RETRIES
from app.settings import ElasticsearchSettings

log = logging.getLogger(__name__)
Doc = TypeVar("Doc")


class ElasticsearchSink:
    def __init__(self, settings: ElasticsearchSettings,
                 client: AsyncElasticsearch | None = None) -> None:
        self.settings = settings
        self.client = client or AsyncElasticsearch(
            settings.url, request_timeout=settings.request_timeout_s, max_retries=0,
            serializer=OrjsonSerializer())
        self._template_ready = False
        # bounds the _bulk requests in flight, across concurrent write() calls too
        self._slots = asyncio.Semaphore(settings.bulk_concurrency)

    async def close(self) -> None:
        await self.client.close()

    async def ensure_template(self) -> None:
        """Install the index template (idempotent), retrying until the cluster answers."""
        s = self.settings
        body = index_template(s.index_prefix, shards=s.shards, replicas=s.replicas,
                              refresh_interval=s.refresh_interval)
        await self._retrying("put index template",
                             lambda: self.client.indices.put_index_template(
                                 name=s.index_prefix, **body))
        self._template_ready = True

    async def write(self, docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        """Index ``docs``; return the ones rejected for good, with the reason.

        Rejections come back in the order of ``docs``. If a chunk fails for good (a
        non-retryable error of the whole request), the other chunks are cancelled and
        that error propagates: nothing is acknowledged, the caller's batch is retried.
        """
        return await self._write(docs, bulk_operations)

    async def write_raw(self, events: list[RawEvent]) -> list[tuple[RawEvent, str]]:
        """``write`` for events kept as their JSON bytes (``split_event_batch``): the
        documents go to Elasticsearch as they are, not decoded and encoded again."""
        return await self._write(events, raw_bulk_operations)

    async def _write(self, docs: list[Doc], encode: Callable[[Sequence[Doc], str], bytes]
                     ) -> list[tuple[Doc, str]]:
        if not self._template_ready:
            await self.ensure_template()
        size = self.settings.bulk_max_docs
        chunks = [docs[i:i + size] for i in range(0, len(docs), size)]
        if len(chunks) <= 1:
            return await self._write_chunk(docs, encode) if docs else []
        tasks = [asyncio.ensure_future(self._write_chunk(chunk, encode)) for chunk in chunks]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [item for rejected in results for item in rejected]

    async def _write_chunk(self, docs: list[Doc], encode: Callable[[Sequence[Doc], str], bytes]
                           ) -> list[tuple[Doc, str]]:
        """One chunk: retryable items again with backoff until none is left."""
        rejected: list[tuple[Doc, str]] = []
        pending, attempt = docs, 0
        while pending:
            body = encode(pending, self.settings.index_prefix)
            response = await self._retrying("bulk", lambda body=body: self._bulk(body))
            if not response.get("errors", True):
                break
            outcome = classify_bulk_items(pending, response["items"])
            rejected.extend(outcome.rejected)
            pending = outcome.retry
            if pending:
                attempt += 1
                SINK_RETRIES.labels("elasticsearch").inc()
                log.warning("elasticsearch: %d of %d documents need a retry (attempt %d)",
                            len(pending), len(docs), attempt)
                await asyncio.sleep(self._backoff(attempt))
        return rejected

    async def _bulk(self, body: bytes) -> Any:
        """One ``_bulk`` request, holding an in-flight slot only while it runs."""
        async with self._slots:
            in_flight = SINK_IN_FLIGHT.labels("elasticsearch")
            in_flight.inc()
            started = time.perf_counter()
            try:
                # the client passes bytes through its NDJSON serializer as they are;
                # its annotation only names the list-of-dicts form
                response = await self.client.bulk(operations=body,  # type: ignore[arg-type]
                                                  filter_path=BULK_RESPONSE_FILTER)
            finally:
                in_flight.dec()
            SINK_LATENCY.labels("elasticsearch").observe(time.perf_counter() - started)
            return response

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
        return backoff_s(attempt, self.settings.max_backoff_s)
