"""Agents under Faust's ``test_context``: no broker, every produce is captured."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock

import pytest

from app import faust_app
from app.main import app as faust


class Captured:
    """Stands in for ``topic.send``: records calls, returns an already-acked future."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.mock = AsyncMock(side_effect=self._send)

    async def _send(self, **kwargs: Any) -> asyncio.Future[None]:
        self.calls.append(kwargs)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


@pytest.fixture()
async def fapp() -> Any:
    faust.finalize()
    faust.flow_control.resume()
    return faust


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, Captured]:
    captured = {"events": Captured(), "dlq": Captured()}
    monkeypatch.setattr(faust_app.events_topic, "send", captured["events"].mock)
    monkeypatch.setattr(faust_app.dlq_topic, "send", captured["dlq"].mock)
    return captured
