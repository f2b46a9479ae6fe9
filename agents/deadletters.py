"""Publishing dead letters on ``logs.dlq`` (shared by every agent), counted per reason."""

from __future__ import annotations

import orjson

from agents.publish import Record, publish
from app.core.deadletter import DeadLetter
from app.faust_app import dlq_topic
from app.metrics import DEAD_LETTERS


def dead_letter_records(letters: list[DeadLetter]) -> list[Record]:
    """``logs.dlq`` records of ``letters`` (counted per stage and reason)."""
    records: list[Record] = []
    for letter in letters:
        DEAD_LETTERS.labels(letter.stage, letter.reason.value).inc()
        records.append((dlq_topic, letter.stage.encode(), orjson.dumps(letter.to_doc())))
    return records


async def send_dead_letters(letters: list[DeadLetter]) -> None:
    """Publish ``letters``, acknowledged (retried until Kafka takes them)."""
    if letters:
        await publish(dead_letter_records(letters), what="dead-letter")
