"""From one raw Kafka message to canonical events grouped by service, plus dead letters.

A raw message holds one record, or, when the producer sets the batch header, many:
``lw-batch: lines`` (newline-delimited records, what any shell tool can produce) or
``lw-batch: json`` (a JSON array of strings, so that a record may itself contain
newlines: a folded traceback). Each record is decoded, size-checked and parsed; a
record that fails becomes a dead letter and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from app.core.deadletter import DeadLetter
from app.core.errors import DecodeError, ProcessorError, Reason
from app.core.eventdoc import EventDoc, event_doc
from app.core.events import LogEvent
from app.core.ids import event_id
from app.core.multiline import fold_lines, python_record_start
from app.core.parsing import FormatDetector, RecordContext
from app.core.parsing.base import new_context

BATCH_HEADER = "lw-batch"  # "lines": newline-delimited; "json": JSON array of strings
FORMAT_HEADER = "format"
SERVICE_HEADER = "service"
SOURCE_TYPE_HEADER = "source_type"  # kafka (default), http, syslog, file
#: Formats whose records span lines: in a ``lines`` batch, continuation lines (a
#: traceback) are folded into the record they continue.
MULTILINE_FORMATS = frozenset({"python"})


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_record_bytes: int = 64 * 1024
    max_batch_records: int = 10_000
    max_json_depth: int = 32


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A Kafka record of ``logs.raw`` as the agent received it."""

    value: bytes
    key: bytes | None
    headers: dict[str, str]
    topic: str
    partition: int
    offset: int
    timestamp: float  # broker/producer timestamp, epoch seconds


@dataclass(slots=True)
class IngestResult:
    #: each service's canonical documents (``as_dict`` gives one as a dict)
    by_service: dict[str, list[EventDoc]] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    records: int = 0

    @property
    def events(self) -> int:
        return sum(len(v) for v in self.by_service.values())


def split_records(msg: RawMessage) -> list[bytes | str]:
    """The records of a message; a single record keeps inner newlines.

    Raises ``DecodeError`` when a ``json`` batch is not an array of strings.
    """
    framing = msg.headers.get(BATCH_HEADER)
    if framing == "lines":
        lines = [line for line in msg.value.split(b"\n") if line.strip()]
        if msg.headers.get(FORMAT_HEADER) in MULTILINE_FORMATS:
            return _fold(lines)
        return list(lines)
    if framing == "json":
        try:
            records = orjson.loads(msg.value)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(Reason.MALFORMED_JSON, f"json batch: {exc}") from None
        if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
            raise DecodeError(Reason.NOT_AN_OBJECT, "json batch is not an array of strings")
        return list(records)  # blank ones become "empty" dead letters: nothing vanishes
    return [msg.value.rstrip(b"\r\n")]


Enrich = Callable[[LogEvent], None]


def ingest_message(msg: RawMessage, detector: FormatDetector, limits: IngestLimits,
                   result: IngestResult | None = None, enrich: Enrich | None = None
                   ) -> IngestResult:
    """Parse (and enrich) every record of ``msg`` into ``result`` (a new one if not given).

    ``enrich`` may raise ``EnrichmentError``: that record becomes a dead letter.
    """
    out = result if result is not None else IngestResult()
    try:
        records = split_records(msg)
    except DecodeError as exc:
        out.records += 1
        out.dead_letters.append(DeadLetter.from_error(
            exc, msg.value, topic=msg.topic, partition=msg.partition, offset=msg.offset,
            index=0, first_seen=msg.timestamp))
        return out
    declared = msg.headers.get(FORMAT_HEADER) or None
    header_service = msg.headers.get(SERVICE_HEADER) or None
    source_type = msg.headers.get(SOURCE_TYPE_HEADER) or "kafka"
    source = msg.key.decode("utf-8", "replace") if msg.key else None

    if len(records) > limits.max_batch_records:
        out.records += 1
        too_many = DecodeError(Reason.BATCH_TOO_LARGE,
                               f"{len(records)} records in one message (limit "
                               f"{limits.max_batch_records})")
        out.dead_letters.append(DeadLetter.from_error(
            too_many, msg.value, topic=msg.topic, partition=msg.partition, offset=msg.offset,
            index=0, first_seen=msg.timestamp))
        return out

    # the loop's invariants in locals: this runs for every record
    topic, partition, offset, first_seen = msg.topic, msg.partition, msg.offset, msg.timestamp
    depth = limits.max_json_depth
    parse, letters, by_service = detector.parse, out.dead_letters, out.by_service
    out.records += len(records)
    last_service, last_docs = None, None
    for index, raw in enumerate(records):
        try:
            text = _decode(raw, limits)
            # RecordContext(event_id, observed_ts, service, source_name, max_json_depth)
            # without the Python-level __new__ of a named tuple: half the cost per record
            ctx = new_context(RecordContext, (
                event_id(topic, partition, offset, index), first_seen,
                header_service, source, depth))
            event = parse(text, ctx, declared)
            event.source_type = source_type
            if enrich is not None:
                enrich(event)
        except ProcessorError as exc:
            letters.append(DeadLetter.from_error(
                exc, raw if isinstance(raw, bytes) else raw.encode(), topic=topic,
                partition=partition, offset=offset, index=index, first_seen=first_seen))
            continue
        doc = event_doc(event, [partition, offset, index])  # pos: see windows.book
        service = event.service
        if service != last_service or last_docs is None:
            last_docs = by_service.get(service)
            if last_docs is None:
                last_docs = by_service[service] = []
            last_service = service
        last_docs.append(doc)
    return out


def _fold(lines: list[bytes]) -> list[bytes | str]:
    out: list[bytes | str] = []
    text: list[str] = []
    for line in lines:  # undecodable lines stay bytes (and become dead letters) in place
        try:
            text.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.extend(fold_lines(text, python_record_start))
            text = []
            out.append(line)
    out.extend(fold_lines(text, python_record_start))
    return out


def _decode(raw: bytes | str, limits: IngestLimits) -> str:
    if isinstance(raw, str):
        size = len(raw) if len(raw) * 4 <= limits.max_record_bytes else len(raw.encode())
        text = raw
    else:
        size = len(raw)
    if size > limits.max_record_bytes:
        raise DecodeError(Reason.OVERSIZED,
                          f"record is {size} bytes (limit {limits.max_record_bytes})")
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(Reason.UNDECODABLE, f"not UTF-8 at byte {exc.start}") from None
    if "\x00" in text:
        raise DecodeError(Reason.UNDECODABLE, "contains NUL bytes")
    text = text.strip()
    if not text:
        raise DecodeError(Reason.EMPTY, "record is empty or whitespace")
    return text
