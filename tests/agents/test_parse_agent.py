from __future__ import annotations

import asyncio
from typing import Any

import orjson

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
