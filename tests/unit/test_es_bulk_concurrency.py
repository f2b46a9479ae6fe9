"""``ElasticsearchSink.write``: chunks, bounded concurrency, per-chunk guarantees (fake client)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from app.adapters.elasticsearch import ElasticsearchSink
from app.core.indexing import BULK_RESPONSE_FILTER
from app.settings import ElasticsearchSettings


class FakeIndices:
    async def put_index_template(self, **_: Any) -> dict[str, Any]:
        return {"acknowledged": True}


class FakeClient:
    """Answers ``bulk`` after a short delay; records concurrency and what was sent.

    ``status_of(event_id, attempt)`` decides an item's status (attempt counts from 1).
    """

    def __init__(self, status_of: Any = None, delay: float = 0.01) -> None:
        self.indices = FakeIndices()
        self.status_of = status_of or (lambda _id, _n: 201)
        self.delay = delay
        self.in_flight = self.max_in_flight = 0
        self.requests: list[list[str]] = []
        self.attempts: dict[str, int] = {}

    async def bulk(self, operations: bytes, filter_path: str = "") -> dict[str, Any]:
        assert filter_path == BULK_RESPONSE_FILTER
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            lines = [orjson.loads(line) for line in operations.splitlines()]
            ids = [op["index"]["_id"] for op in lines[::2]]
            self.requests.append(ids)
            items = []
            for _id in ids:
                self.attempts[_id] = self.attempts.get(_id, 0) + 1
                status = self.status_of(_id, self.attempts[_id])
                result: dict[str, Any] = {"_id": _id, "status": status}
                if status >= 300:
                    result["error"] = {"type": "mapper_parsing_exception" if status == 400
                                       else "es_rejected_execution_exception", "reason": "x"}
                items.append({"index": result})
            return {"errors": any(i["index"]["status"] >= 300 for i in items), "items": items}
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        pass


def docs(n: int) -> list[dict[str, Any]]:
    return [{"event_id": f"e{i}", "ts": "2026-11-22T04:00:00.000Z", "service": "s"}
            for i in range(n)]


def sink(client: FakeClient, *, max_docs: int, concurrency: int) -> ElasticsearchSink:
    settings = ElasticsearchSettings(bulk_max_docs=max_docs, bulk_concurrency=concurrency,
                                     max_backoff_s=0.01)
    return ElasticsearchSink(settings, client=client)  # type: ignore[arg-type]


@pytest.mark.parametrize("concurrency", [1, 2, 3])
async def test_chunks_are_bounded_and_concurrency_never_exceeds_the_setting(
        concurrency: int) -> None:
    client = FakeClient()
    assert await sink(client, max_docs=10, concurrency=concurrency).write(docs(95)) == []
    assert sorted(len(r) for r in client.requests) == [5] + [10] * 9
    assert client.max_in_flight == concurrency
    assert sorted(i for r in client.requests for i in r) == sorted(f"e{i}" for i in range(95))


async def test_concurrent_write_calls_share_the_bound() -> None:
    client = FakeClient()
    es = sink(client, max_docs=5, concurrency=2)
    await asyncio.gather(es.write(docs(20)), es.write(docs(20)))
    assert client.max_in_flight == 2


async def test_retryable_items_are_retried_and_rejections_returned_in_order() -> None:
    def status_of(_id: str, attempt: int) -> int:
        number = int(_id[1:])
        if number % 7 == 0:
            return 400  # refused for good
        if number % 3 == 0 and attempt < 3:
            return 429  # busy twice, then fine
        return 201

    client = FakeClient(status_of)
    rejected = await sink(client, max_docs=8, concurrency=2).write(docs(50))
    assert [doc["event_id"] for doc, _ in rejected] == [f"e{i}" for i in range(0, 50, 7)]
    assert all(reason.startswith("400 mapper_parsing_exception") for _, reason in rejected)
    retried = {i for i in range(50) if i % 3 == 0 and i % 7}
    assert {int(k[1:]) for k, n in client.attempts.items() if n == 3} == retried
    assert all(n == 1 for k, n in client.attempts.items() if int(k[1:]) not in retried)
    assert client.max_in_flight <= 2


async def test_a_failing_chunk_cancels_the_others_and_propagates() -> None:
    class Boom(Exception):
        pass

    client = FakeClient(delay=0.05)
    calls = 0
    real_bulk = client.bulk

    async def bulk(operations: bytes, filter_path: str = "") -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Boom
        return await real_bulk(operations, filter_path)

    client.bulk = bulk  # type: ignore[method-assign]
    with pytest.raises(Boom):
        await sink(client, max_docs=5, concurrency=2).write(docs(40))
    await asyncio.sleep(0.1)
    assert client.in_flight == 0
    assert len(client.requests) < 8  # the remaining chunks were never sent


async def test_empty_and_single_chunk() -> None:
    client = FakeClient()
    es = sink(client, max_docs=100, concurrency=4)
    assert await es.write([]) == []
    assert await es.write(docs(100)) == []
    assert [len(r) for r in client.requests] == [100]
