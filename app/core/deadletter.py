"""Dead letters: what failed, where, why, and the original bytes to replay it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from app.core.errors import ProcessorError, Reason
from app.core.events import iso_utc

#: Bytes of an oversized original kept inline; the rest is in the source topic at
#: (topic, partition, offset), which stays the source of truth.
MAX_INLINE_ORIGINAL = 64 * 1024


@dataclass(frozen=True, slots=True)
class DeadLetter:
    stage: str
    reason: Reason
    error: str
    original: bytes
    parser: str | None
    topic: str
    partition: int
    offset: int
    index: int  # record index inside a batched Kafka message (0 for single records)
    first_seen: float

    @classmethod
    def from_error(cls, exc: ProcessorError, original: bytes, *, topic: str, partition: int,
                   offset: int, index: int, first_seen: float) -> DeadLetter:
        return cls(stage=exc.stage, reason=exc.reason, error=exc.detail, original=original,
                   parser=exc.parser, topic=topic, partition=partition, offset=offset,
                   index=index, first_seen=first_seen)

    def to_doc(self) -> dict[str, Any]:
        kept = self.original[:MAX_INLINE_ORIGINAL]
        try:
            text, encoding = kept.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        return {
            "stage": self.stage,
            "reason": self.reason.value,
            "error": self.error,
            "parser": self.parser,
            "original": text,
            "original_encoding": encoding,
            "original_size": len(self.original),
            "original_truncated": len(kept) < len(self.original),
            "source": {"topic": self.topic, "partition": self.partition,
                       "offset": self.offset, "index": self.index},
            "first_seen": iso_utc(self.first_seen),
        }


def original_from_doc(doc: dict[str, Any]) -> bytes:
    """The original bytes kept in a dead-letter document (for replay)."""
    text = str(doc["original"])
    if doc.get("original_encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")
