from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.gateway import BodyError, batches, predict, split_body
from app.core.ingest import IngestLimits
from app.core.parsing import FormatDetector
from app.core.tokens import Scope, TokenRecord, bearer_token, hash_token


def test_json_object_array_and_strings() -> None:
    assert split_body(b'{"a": 1}', "application/json") == [(0, '{"a":1}')]
    assert split_body(b'[{"a": 1}, "plain text", "  ", 5]', "application/json; charset=utf-8") == [
        (0, '{"a":1}'), (1, "plain text"), (3, "5")]


def test_lines_keep_positions_and_undecodable_bytes() -> None:
    body = b'{"a":1}\r\n\n\xff\xfe\nlast'
    assert split_body(body, "application/x-ndjson") == [
        (0, '{"a":1}'), (2, b"\xff\xfe"), (3, "last")]


@pytest.mark.parametrize(("body", "kind", "status"), [
    (b"{", "application/json", 400),
    (b"x", "application/xml", 415),
])
def test_body_errors(body: bytes, kind: str, status: int) -> None:
    with pytest.raises(BodyError) as info:
        split_body(body, kind)
    assert info.value.status == status


def test_predict_reports_body_positions() -> None:
    records = split_body(b'{"msg":"ok"}\n\n{"broken\n\xff\n', "text/plain")
    verdicts = predict(records, FormatDetector(), IngestLimits(), declared=None, service=None,
                       now=0.0)
    assert [(v.index, v.reason) for v in verdicts] == [(2, "malformed_json"), (3, "undecodable")]


@given(st.lists(st.text(min_size=1, max_size=50), max_size=200),
       st.integers(1, 20), st.integers(10, 500))
def test_batches_keep_every_record_in_order(records: list[str], n: int, size: int) -> None:
    chunks = batches(records, n, size)
    assert [r for chunk in chunks for r in chunk] == records
    assert all(0 < len(chunk) <= n for chunk in chunks)


def test_tokens() -> None:
    assert bearer_token("Bearer abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    record = TokenRecord("t", hash_token("x"), frozenset({Scope.INGEST}), 0.0)
    assert record.allows(Scope.INGEST) and not record.allows(Scope.READ)
    admin = TokenRecord("a", "h", frozenset({Scope.ADMIN}), 0.0)
    assert admin.allows(Scope.READ)
    revoked = TokenRecord("r", "h", frozenset({Scope.ADMIN}), 0.0, revoked_at=1.0)
    assert not revoked.allows(Scope.INGEST)
