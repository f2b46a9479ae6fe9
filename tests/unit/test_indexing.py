from __future__ import annotations

import orjson
import pytest

from app.core.errors import DecodeError, Reason
from app.core.eventbatch import decode_event_batch
from app.core.indexing import bulk_operations, classify_bulk_items, daily_index, index_template

DOC = {"event_id": "abc", "ts": "2026-11-22T04:00:00.000Z", "service": "auth"}


def test_daily_index_and_deterministic_id() -> None:
    assert daily_index("logwarden-events", DOC) == "logwarden-events-2026.11.22"
    body = bulk_operations([DOC, DOC | {"event_id": "x\ny"}], "lw")
    lines = body.split(b"\n")
    assert body.endswith(b"\n") and lines[-1] == b""
    assert [orjson.loads(line) for line in lines[:-1]] == [
        {"index": {"_index": "lw-2026.11.22", "_id": "abc"}}, DOC,
        {"index": {"_index": "lw-2026.11.22", "_id": "x\ny"}}, DOC | {"event_id": "x\ny"}]


def test_bulk_items_are_split_by_outcome() -> None:
    docs = [dict(DOC, event_id=str(i)) for i in range(3)]
    items = [
        {"index": {"status": 201}},
        {"index": {"status": 429, "error": {"type": "es_rejected_execution_exception"}}},
        {"index": {"status": 400, "error": {"type": "mapper_parsing_exception",
                                             "reason": "failed to parse field [http.status]"}}},
    ]
    outcome = classify_bulk_items(docs, items)
    assert outcome.indexed == 1
    assert outcome.retry == [docs[1]]
    [(doc, reason)] = outcome.rejected
    assert doc is docs[2]
    assert reason.startswith("400 mapper_parsing_exception: failed to parse")


def test_mismatched_bulk_response_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 items for 1"):
        classify_bulk_items([DOC], [{"index": {"status": 201}}] * 2)


def test_template_covers_the_alias_and_maps_key_fields() -> None:
    template = index_template("lw")
    assert template["index_patterns"] == ["lw-*"]
    props = template["template"]["mappings"]["properties"]
    assert props["ts"]["type"] == "date"
    assert props["message"]["type"] == "text"
    assert props["service"]["type"] == "keyword"
    assert props["http"]["properties"]["client_ip"]["type"] == "ip"


@pytest.mark.parametrize(("value", "reason"), [
    (b"nope", Reason.MALFORMED_JSON),
    (b"[1]", Reason.NOT_AN_OBJECT),
    (b'[{"event_id": "x"}]', Reason.BAD_FIELD),
])
def test_event_batch_decoding_failures(value: bytes, reason: Reason) -> None:
    with pytest.raises(DecodeError) as info:
        decode_event_batch(value)
    assert info.value.reason is reason


def test_event_batch_accepts_single_object() -> None:
    [item] = decode_event_batch(b'{"event_id": "x", "ts": "2026-01-01T00:00:00Z"}')
    assert item["event_id"] == "x"


def test_expired_indices_only_picks_dated_indices_of_the_prefix() -> None:
    from app.core.indexing import expired_indices

    names = ["lw-2026.11.01", "lw-2026.11.14", "lw-2026.11.15", "lw-2026.11.22",
             "lw-archive", "lw-2026.13.01", "other-2026.01.01", "lw-2026.11.1"]
    assert expired_indices("lw", names, today="2026-11-22", keep_days=7) == [
        "lw-2026.11.01", "lw-2026.11.14"]


def test_refresh_interval_is_a_setting_and_validated() -> None:
    from pydantic import ValidationError

    from app.settings import ElasticsearchSettings

    assert ElasticsearchSettings().refresh_interval == "500ms"
    template = index_template("lw", refresh_interval=ElasticsearchSettings().refresh_interval)
    assert template["template"]["settings"]["refresh_interval"] == "500ms"
    with pytest.raises(ValidationError, match="refresh_interval"):
        ElasticsearchSettings(refresh_interval="soon")
