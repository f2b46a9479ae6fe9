from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

import agents.parse as parse_module
from agents.parse import parse
from tests.agents.conftest import Captured


async def _drain(captured: dict[str, Captured], events: int, letters: int) -> None:
    for _ in range(100):  # the agent batches with a 0.2 s window
        if (sum(len(orjson.loads(c["value"])) for c in captured["events"].calls) >= events
                and len(captured["dlq"].calls) >= letters):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"agent did not emit: {captured['events'].calls} {captured['dlq'].calls}")


async def test_parse_agent_routes_events_by_service_and_bad_lines_to_dlq(
        fapp: Any, sent: dict[str, Captured]) -> None:
    batch = b'{"service":"auth","msg":"a"}\n{"service":"search","msg":"b"}\n{"oops":\n'
    async with parse.test_context() as agent:
        await agent.put(batch, key=b"host-1", headers={"lw-batch": b"lines"})
        await agent.put(b"\xff\xfe", key=b"host-2")
        await _drain(sent, events=2, letters=2)

    keys = sorted(c["key"] for c in sent["events"].calls)
    assert keys == [b"auth", b"search"]
    letters = [orjson.loads(c["value"]) for c in sent["dlq"].calls]
    assert sorted((d["stage"], d["reason"]) for d in letters) == [
        ("decode", "undecodable"), ("parse", "malformed_json")]
    assert all(c["key"] in (b"decode", b"parse") for c in sent["dlq"].calls)


def _with_ingest(monkeypatch: pytest.MonkeyPatch, **ingest: Any) -> None:
    """The parse agent started with these ``ingest`` settings (it reads them as it starts)."""
    current = parse_module.settings
    monkeypatch.setattr(parse_module, "settings", current.model_copy(
        update={"ingest": current.ingest.model_copy(update=ingest)}))


@pytest.mark.parametrize(("max_bytes", "wait_s", "sizes"), [
    (1024, 5.0, [2, 2, 2]),  # ~590-byte records: full at the second, long before the wait
    (1024 * 1024, 0.2, [6]),  # under the byte bound: the wait ends the batch
])
async def test_a_parse_batch_ends_at_its_byte_bound(
        fapp: Any, sent: dict[str, Captured], monkeypatch: pytest.MonkeyPatch,
        max_bytes: int, wait_s: float, sizes: list[int]) -> None:
    _with_ingest(monkeypatch, parse_batch_bytes=max_bytes, parse_batch_wait_s=wait_s,
                 parse_batch_size=1024)
    record = b'{"service":"auth","msg":"' + b"x" * 560 + b'"}'
    async with parse.test_context() as agent:
        for _ in range(6):
            await agent.put(record, key=b"host-1")
        await _drain(sent, events=6, letters=0)
    # one logs.events message per batch here (one service)
    assert [len(orjson.loads(c["value"])) for c in sent["events"].calls] == sizes
