"""The HTTP ingest gateway's pure part: request bodies to records, and a verdict per record.

Bodies: one JSON object, a JSON array (of objects, or of strings), NDJSON, or plain text
lines (with a declared format). Every record is forwarded to ``logs.raw``; the gateway
also runs the same core the parse agent runs, so it can tell the client which records
will be dead-lettered and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from app.core.ingest import (
    BATCH_HEADER,
    FORMAT_HEADER,
    SERVICE_HEADER,
    Enrich,
    IngestLimits,
    RawMessage,
    ingest_message,
)
from app.core.parsing import FormatDetector

JSON_TYPES = frozenset({"application/json"})
LINE_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                        "application/jsonlines", "application/x-jsonlines", "text/plain"})


class BodyError(ValueError):
    """The request body cannot be split into records (HTTP 400 or 415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Verdict:
    index: int
    stage: str
    reason: str
    error: str


Record = tuple[int, bytes | str]  # position in the body (array index or line number - 1)


def split_body(body: bytes, content_type: str) -> list[Record]:
    """Records of a request body, with their position; blank records are skipped.

    A record is ``str`` when it is text and ``bytes`` when a line is not UTF-8.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in JSON_TYPES:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"request body is not valid JSON: {exc}") from None
        items = value if isinstance(value, list) else [value]
        return [(i, item if isinstance(item, str) else orjson.dumps(item).decode())
                for i, item in enumerate(items)
                if not (isinstance(item, str) and not item.strip())]
    if kind in LINE_TYPES:
        records: list[Record] = []
        for i, line in enumerate(body.split(b"\n")):
            if not line.strip():
                continue
            try:
                records.append((i, line.rstrip(b"\r").decode("utf-8")))
            except UnicodeDecodeError:
                records.append((i, line))
        return records
    raise BodyError(f"unsupported content type {kind!r}; use application/json, "
                    "application/x-ndjson or text/plain", status=415)


def batches(records: list[str], max_records: int, max_bytes: int) -> list[list[str]]:
    """Consecutive chunks of at most ``max_records`` records and about ``max_bytes``."""
    out: list[list[str]] = []
    chunk: list[str] = []
    size = 0
    for record in records:
        length = len(record) + 4
        if chunk and (len(chunk) >= max_records or size + length > max_bytes):
            out.append(chunk)
            chunk, size = [], 0
        chunk.append(record)
        size += length
    if chunk:
        out.append(chunk)
    return out


def predict(records: list[Record], detector: FormatDetector, limits: IngestLimits, *,
            declared: str | None, service: str | None, now: float,
            enrich: Enrich | None = None, source: str | None = None) -> list[Verdict]:
    """What the parse agent will do with each record: the ones it will dead-letter."""
    verdicts: list[Verdict] = []
    texts = [r for _, r in records if isinstance(r, str)]
    positions = [i for i, r in records if isinstance(r, str)]
    for i, record in records:
        if isinstance(record, bytes):
            verdicts.append(Verdict(i, "decode", "undecodable", "not UTF-8 text"))
    headers = {BATCH_HEADER: "json"}
    if declared:
        headers[FORMAT_HEADER] = declared
    if service:
        headers[SERVICE_HEADER] = service
    msg = RawMessage(value=orjson.dumps(texts), key=source.encode() if source else None,
                     headers=headers, topic="http",
                     partition=0, offset=0, timestamp=now)
    unlimited = IngestLimits(max_record_bytes=limits.max_record_bytes,
                             max_batch_records=max(len(texts), 1),
                             max_json_depth=limits.max_json_depth)
    for letter in ingest_message(msg, detector, unlimited, enrich=enrich).dead_letters:
        verdicts.append(Verdict(positions[letter.index], letter.stage, letter.reason.value,
                                letter.error))
    return sorted(verdicts, key=lambda v: v.index)
