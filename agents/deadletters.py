"""Publishing dead letters on ``logs.dlq`` (shared by every agent), counted per reason."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import orjson

from app.core.deadletter import DeadLetter
from app.faust_app import dlq_topic
from app.metrics import DEAD_LETTERS


async def send_dead_letters(letters: list[DeadLetter]) -> list[Awaitable[Any]]:
    futures = []
    for letter in letters:
        DEAD_LETTERS.labels(letter.stage, letter.reason.value).inc()
        futures.append(await dlq_topic.send(key=letter.stage.encode(),
                                            value=orjson.dumps(letter.to_doc())))
    return futures
