"""Parsers: table-driven cases plus properties (only ParseError ever escapes)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, ProcessorError, Reason
from app.core.parsing import FormatDetector, RecordContext, builtin_parsers
from app.core.timeparse import epoch_from_iso

CTX = RecordContext(event_id="e1", observed_ts=1_700_000_000.0, service=None,
                    source_name="host-a", max_json_depth=8)
APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash'
          '-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 '
          '"http://semicomplete.com/presentations/logstash-monitorama-2013/" '
          '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36"')


def test_json_ecs_like_line() -> None:
    line = ('{"@timestamp":"2026-11-22T04:00:00.250Z","level":"error","service":"auth",'
            '"message":"db down","host":"auth-1","http":{"method":"POST","path":"/login",'
            '"status":503,"latency_ms":12.5},"user_id":42}')
    event = FormatDetector().parse(line, CTX)
    assert event.service == "auth"
    assert event.ts == epoch_from_iso("2026-11-22T04:00:00.250Z")
    assert (event.severity_number, event.severity_text) == (17, "error")
    assert event.http is not None
    assert (event.http.status, event.http.duration_ms) == (503, 12.5)
    assert event.attrs == {"user_id": 42}
    assert event.parser == "json" and event.parsed


@pytest.mark.parametrize(("raw_ts", "expected"), [
    (1_700_000_000, 1_700_000_000.0),
    (1_700_000_000_123, 1_700_000_000.123),
    (1_700_000_000_123_456, 1_700_000_000.123456),
    (1_700_000_000_123_456_789, 1_700_000_000.123456789),
    ('"2023-11-14T22:13:20+00:00"', 1_700_000_000.0),
    ('"2023-11-14T22:13:20"', 1_700_000_000.0),
])
def test_json_timestamp_forms(raw_ts: object, expected: float) -> None:
    event = FormatDetector().parse(f'{{"ts": {raw_ts}, "msg": "x"}}', CTX)
    assert event.ts == pytest.approx(expected)


def test_json_without_service_uses_header_then_source() -> None:
    detector = FormatDetector()
    assert detector.parse('{"msg":"x"}', CTX).service == "host-a"
    ctx = RecordContext(event_id="e", observed_ts=0.0, service="billing", source_name="h")
    assert detector.parse('{"msg":"x"}', ctx).service == "billing"


@pytest.mark.parametrize(("line", "reason"), [
    ('{"level": "error", "message": "truncated', Reason.MALFORMED_JSON),
    ('{"a":' * 20 + "1" + "}" * 20, Reason.JSON_TOO_DEEP),
    ('{"ts": true}', Reason.BAD_FIELD),
    ('{"ts": "yesterday"}', Reason.BAD_FIELD),
    ('{"http": {"status": "abc"}}', Reason.BAD_FIELD),
])
def test_json_failures_have_reasons(line: str, reason: Reason) -> None:
    with pytest.raises(ParseError) as info:
        FormatDetector().parse(line, CTX)
    assert info.value.reason is reason
    assert info.value.parser == "json"


def test_declared_json_rejects_array() -> None:
    with pytest.raises(ParseError) as info:
        FormatDetector().parse("[1, 2]", CTX, "json")
    assert info.value.reason is Reason.NOT_AN_OBJECT


def test_apache_combined_line() -> None:
    event = FormatDetector().parse(APACHE, CTX)
    assert event.parser == "http_access"
    assert event.ts == epoch_from_iso("2015-05-17T10:05:03+00:00")
    assert event.http is not None
    assert (event.http.method, event.http.status, event.http.bytes) == ("GET", 200, 203023)
    assert event.http.client_ip == "83.149.9.216"
    assert event.http.user_agent is not None and event.http.user_agent.startswith("Mozilla")
    assert event.severity_text == "INFO"


def test_common_log_format_with_dash_size_and_timezone() -> None:
    line = '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 503 -'
    event = FormatDetector().parse(line, CTX)
    assert event.http is not None and event.http.bytes == 0
    assert event.ts == epoch_from_iso("2000-10-10T13:55:36-07:00")
    assert event.attrs == {"user": "frank"}
    assert event.severity_text == "ERROR"


def test_nginx_main_with_forwarded_for() -> None:
    line = APACHE + ' "203.0.113.9, 10.0.0.2"'
    event = FormatDetector().parse(line, CTX)
    assert event.attrs["forwarded_for"] == "203.0.113.9, 10.0.0.2"


def test_declared_access_format_mismatch() -> None:
    with pytest.raises(ParseError) as info:
        FormatDetector().parse("hello world", CTX, "http_access")
    assert info.value.reason is Reason.FORMAT_MISMATCH


def test_unknown_declared_format() -> None:
    with pytest.raises(ParseError) as info:
        FormatDetector().parse("x", CTX, "cobol")
    assert info.value.reason is Reason.UNKNOWN_FORMAT
    assert "json" in info.value.detail


def test_undetected_text_becomes_plain_unparsed_event() -> None:
    event = FormatDetector().parse("kernel: something FAILED with ERROR 5", CTX)
    assert (event.parser, event.parsed) == ("plain", False)
    assert event.severity_text == "ERROR"
    assert event.ts == CTX.observed_ts


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), name=st.sampled_from(sorted(builtin_parsers())))
def test_every_parser_returns_an_event_or_a_parse_error(text: str, name: str) -> None:
    parser = builtin_parsers()[name]
    try:
        event = parser.parse(text, CTX)
    except ParseError:
        return
    assert isinstance(event.to_doc(), dict)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
                    max_leaves=20))
def test_hostile_json_values_never_escape_as_other_errors(value: object) -> None:
    import json

    line = json.dumps({"ts": value, "level": value, "http": value, "message": value})
    with contextlib.suppress(ProcessorError):
        FormatDetector().parse(line, CTX)
