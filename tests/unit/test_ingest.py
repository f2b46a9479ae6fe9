"""From raw Kafka messages to events and dead letters (pure, no broker)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from app.core.deadletter import original_from_doc
from app.core.errors import Reason
from app.core.eventdoc import as_dict
from app.core.ids import event_id
from app.core.ingest import IngestLimits, RawMessage, ingest_message
from app.core.parsing import FormatDetector

LIMITS = IngestLimits(max_record_bytes=1024, max_batch_records=100, max_json_depth=16)


def msg(value: bytes, headers: dict[str, str] | None = None, offset: int = 5) -> RawMessage:
    return RawMessage(value=value, key=b"src-1", headers=headers or {}, topic="logs.raw",
                      partition=3, offset=offset, timestamp=1_700_000_000.0)


def test_single_record_groups_by_service_with_deterministic_id() -> None:
    result = ingest_message(msg(b'{"service":"auth","msg":"ok"}\n'), FormatDetector(), LIMITS)
    assert list(result.by_service) == ["auth"]
    doc = as_dict(result.by_service["auth"][0])
    assert doc["event_id"] == event_id("logs.raw", 3, 5, 0)
    assert doc["source"] == {"type": "kafka", "name": "src-1"}
    assert result.dead_letters == []


def test_batch_message_splits_lines_and_keeps_going_after_a_bad_one() -> None:
    value = b'{"service":"a","msg":"1"}\n{"broken":\n\n{"service":"b","msg":"2"}\n'
    result = ingest_message(msg(value, {"lw-batch": "lines"}), FormatDetector(), LIMITS)
    assert {k: len(v) for k, v in result.by_service.items()} == {"a": 1, "b": 1}
    assert result.by_service["b"][0].event_id == event_id("logs.raw", 3, 5, 2)
    [letter] = result.dead_letters
    doc = letter.to_doc()
    assert (doc["stage"], doc["reason"], doc["parser"]) == ("parse", "malformed_json", "json")
    assert doc["source"] == {"topic": "logs.raw", "partition": 3, "offset": 5, "index": 1}
    assert original_from_doc(doc) == b'{"broken":'


def test_undecodable_bytes_are_kept_in_base64() -> None:
    raw = b"\xff\xfe binary \x00"
    [letter] = ingest_message(msg(raw), FormatDetector(), LIMITS).dead_letters
    doc = letter.to_doc()
    assert (doc["stage"], doc["reason"]) == ("decode", "undecodable")
    assert doc["original_encoding"] == "base64"
    assert base64.b64decode(doc["original"]) == raw


def test_oversized_record_is_a_dead_letter_with_its_size() -> None:
    raw = b'{"msg":"' + b"x" * 2000 + b'"}'
    [letter] = ingest_message(msg(raw), FormatDetector(), LIMITS).dead_letters
    assert letter.reason is Reason.OVERSIZED
    assert letter.to_doc()["original_size"] == len(raw)


def test_declared_format_header_wins() -> None:
    result = ingest_message(msg(b"plain words", {"format": "json"}), FormatDetector(), LIMITS)
    assert result.dead_letters[0].reason is Reason.MALFORMED_JSON


def test_too_many_records_in_one_batch() -> None:
    value = b"\n".join(b'{"msg":"x"}' for _ in range(101))
    result = ingest_message(msg(value, {"lw-batch": "lines"}), FormatDetector(), LIMITS)
    assert result.events == 0
    assert [d.reason for d in result.dead_letters] == [Reason.BATCH_TOO_LARGE]


@given(st.binary(max_size=400), st.booleans())
def test_random_bytes_never_raise_and_nothing_is_lost(value: bytes, batched: bool) -> None:
    headers = {"lw-batch": "lines"} if batched else {}
    result = ingest_message(msg(value, headers), FormatDetector(), LIMITS)
    assert result.events + len(result.dead_letters) == result.records


def test_json_batch_keeps_newlines_inside_records() -> None:
    value = (b'["2026-11-22 04:00:00,123 - app - ERROR - boom\\nTraceback (most recent '
             b'call last):", "{\\"msg\\": \\"b\\"}"]')
    result = ingest_message(msg(value, {"lw-batch": "json"}), FormatDetector(), LIMITS)
    assert result.records == 2
    docs = [as_dict(d) for docs in result.by_service.values() for d in docs]
    assert any("Traceback" in d["message"] for d in docs)


def test_broken_json_batch_is_one_dead_letter() -> None:
    result = ingest_message(msg(b'["a", 1]', {"lw-batch": "json"}), FormatDetector(), LIMITS)
    assert [d.reason for d in result.dead_letters] == [Reason.NOT_AN_OBJECT]
    assert result.records == 1


def test_lines_batch_of_python_logs_folds_tracebacks() -> None:
    value = (b"2026-11-22 04:00:00,123 - app - ERROR - boom\n"
             b"Traceback (most recent call last):\n"
             b'  File "x.py", line 1, in <module>\n'
             b"ZeroDivisionError: division by zero\n"
             b"2026-11-22 04:00:01,000 - app - INFO - next\n")
    result = ingest_message(msg(value, {"lw-batch": "lines", "format": "python"}),
                            FormatDetector(), LIMITS)
    assert result.records == 2 and not result.dead_letters
    [first, second] = map(as_dict, next(iter(result.by_service.values())))
    assert first["attrs"]["exception"]["type"] == "ZeroDivisionError"
    assert second["message"] == "next"
