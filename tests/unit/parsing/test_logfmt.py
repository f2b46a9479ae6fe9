"""logfmt parser: tables of real-world lines and oddities, plus properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, Reason
from app.core.parsing import logfmt
from app.core.parsing.base import RecordContext
from app.core.parsing.logfmt import LogfmtParser, parse_duration_ms, parse_pairs
from app.core.timeparse import epoch_from_iso

OBSERVED = epoch_from_iso("2026-11-22T04:00:00Z")
CTX = RecordContext(event_id="e1", observed_ts=OBSERVED, service=None, source_name="web-1")
HEROKU = ('at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" connect=4ms '
          'service=8ms status=200')
NOT_LOGFMT = [
    '{"level":"info","msg":"x=1"}',
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a?b=c HTTP/1.1" 200 203',
    "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed a=b",
    "<34>1 2003-10-11T22:14:15.003Z host su - ID47 [x@1 a=\"3\"] msg",
    "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user=root",
    "WARNING:root:x=1",
    "2026-11-22 03:46:58,893 - app - INFO - a=b",
    "",
]


def parse(line: str, ctx: RecordContext = CTX) -> Any:
    event = LogfmtParser().parse(line, ctx)
    event.to_doc()
    return event


def test_heroku_router_line() -> None:
    event = parse(HEROKU)
    assert (event.severity_number, event.severity_text) == (9, "info")
    assert event.host == "grafana.net"
    assert event.http is not None
    assert (event.http.method, event.http.path, event.http.status) == ("GET", "/", 200)
    assert event.http.duration_ms == 8.0  # service=, not connect=
    assert event.http.client_ip == "124.133.124.161"
    assert event.attrs == {"fwd": "124.133.124.161", "connect": "4ms"}
    assert event.message == HEROKU  # no msg key: the line is the message
    assert event.service == "web-1" and event.ts == OBSERVED


def test_heroku_router_error() -> None:
    line = ('at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.com '
            'request_id=8601b555 fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms '
            'status=503 bytes=0')
    event = parse(line)
    assert event.severity_number == 17
    assert event.http is not None
    assert (event.http.status, event.http.bytes, event.http.duration_ms) == (503, 0, 30000.0)
    assert event.attrs["code"] == "H12" and event.attrs["desc"] == "Request timeout"
    assert event.attrs["request_id"] == "8601b555"


def test_app_line_maps_well_known_keys() -> None:
    line = ('ts=2026-11-22T04:00:00.250Z level=warn msg="slow query" service=billing '
            'host=db-1 env=prod logger=sql trace_id=4bf92f35 span_id=00f067aa duration=1.5s '
            'user_id=42 pid=77')
    event = parse(line)
    assert event.ts == pytest.approx(OBSERVED + 0.25)
    assert (event.severity_number, event.severity_text) == (13, "warn")
    assert event.message == "slow query"
    assert (event.service, event.host, event.env, event.logger) == ("billing", "db-1", "prod",
                                                                     "sql")
    assert (event.trace_id, event.span_id) == ("4bf92f35", "00f067aa")
    assert event.http is not None and event.http.duration_ms == 1500.0
    assert event.attrs == {"user_id": "42", "pid": 77}  # numeric strings stay strings


@pytest.mark.parametrize(("line", "expected"), [
    (r'msg="say \"hi\" to C:\\temp" a=1', {"msg": 'say "hi" to C:\\temp', "a": "1"}),
    (r'msg="line1\nline2\ttab" x=\q', {"msg": "line1\nline2\ttab", "x": "\\q"}),
    (r'msg="unknown \x escape"', {"msg": "unknown \\x escape"}),
    ("debug a=1 verbose", {"debug": True, "a": "1", "verbose": True}),
    ('a= b="" c', {"a": "", "b": "", "c": True}),
    ("a=b=c", {"a": "b=c"}),
    ("http.status=200 x-request-id=abc k/v=1", {"http.status": "200", "x-request-id": "abc",
                                                "k/v": "1"}),
    ("utilisateur=José ville=\"São Paulo\" 表=値", {"utilisateur": "José", "ville": "São Paulo",
                                                  "表": "値"}),
    ("tag=a tag=b tag=c", {"tag": ["a", "b", "c"]}),
    ('msg="unterminated quote runs to the end', {"msg": "unterminated quote runs to the end"}),
    ("a=1\tb=2   c=3", {"a": "1", "b": "2", "c": "3"}),
    ('k="v"next=1', {"k": "v", "next": "1"}),
])
def test_pairs(line: str, expected: dict[str, Any]) -> None:
    fields, stray = parse_pairs(line)
    assert fields == expected
    assert stray == []


def test_stray_tokens_are_kept() -> None:
    event = parse('level=info "just quoted" =orphan a=1')
    assert event.attrs == {"a": "1", "_unparsed": '"just quoted" =orphan'}


@pytest.mark.parametrize(("line", "ts"), [
    ("ts=2026-11-22T04:00:00Z a=1", "2026-11-22T04:00:00Z"),
    ("time=2026-11-22T05:00:00+01:00 a=1", "2026-11-22T04:00:00Z"),
    ('time="2026-11-22 04:00:00.5 +0000 UTC" a=1', "2026-11-22T04:00:00.5Z"),  # Go String()
    ("timestamp=1795320000 a=1", "2026-11-22T04:00:00Z"),
    ("t=1795320000123 a=1", "2026-11-22T04:00:00.123Z"),
    ("ts=1795320000123456789 a=1", "2026-11-22T04:00:00.123456Z"),
    ("ts=1795320000.5 a=1", "2026-11-22T04:00:00.5Z"),
    ("time=12ms a=1", "2026-11-22T04:00:00Z"),  # not a timestamp: observed time
    ("t=5 a=1", "2026-11-22T04:00:00Z"),  # a small number is no epoch
])
def test_timestamps(line: str, ts: str) -> None:
    assert parse(line).ts == pytest.approx(epoch_from_iso(ts), abs=1e-6)


def test_time_that_is_no_timestamp_stays_in_attrs() -> None:
    assert parse("time=12ms a=1").attrs == {"time": "12ms", "a": "1"}


def test_timestamp_priority_ts_before_time() -> None:
    event = parse("time=2020-01-01T00:00:00Z ts=2026-11-22T04:00:00Z")
    assert event.ts == OBSERVED
    assert event.attrs == {"time": "2020-01-01T00:00:00Z"}


@pytest.mark.parametrize("line", [
    "ts=2026-13-01T00:00:00Z msg=x",  # month 13
    "ts=2026-02-30T00:00:00Z msg=x",
    "time=2026-11-22T25:00:00 msg=x",
    "ts=99999999999999999999999999999 msg=x",  # beyond year 9999 whatever the unit
    "ts=2026-11-22Tnonsense msg=x",
])
def test_impossible_timestamps_are_bad_fields(line: str) -> None:
    with pytest.raises(ParseError) as info:
        LogfmtParser().parse(line, CTX)
    assert info.value.reason is Reason.BAD_FIELD
    assert info.value.parser == "logfmt"


@pytest.mark.parametrize(("line", "number", "text"), [
    ("level=error msg=x", 17, "error"),
    ("lvl=WARN msg=x", 13, "WARN"),
    ("severity=critical msg=x", 21, "critical"),
    ("at=info msg=x", 9, "info"),
    ("level=verbose msg=x", 0, "verbose"),  # unknown word: kept as text
    ("msg=x status=503", 17, "ERROR"),  # no level: from the HTTP status
    ("msg=x", 0, "UNSPECIFIED"),
])
def test_levels(line: str, number: int, text: str) -> None:
    event = parse(line)
    assert (event.severity_number, event.severity_text) == (number, text)


def test_at_that_is_not_a_level_stays_in_attrs() -> None:
    event = parse("at=checkout_step msg=x")
    assert event.severity_number == 0 and event.attrs == {"at": "checkout_step"}


@pytest.mark.parametrize(("line", "ctx_service", "service"), [
    ("service=api msg=x", None, "api"),
    ("app=shop msg=x", None, "shop"),
    ("service=api msg=x", "from-header", "from-header"),
    ("service=8ms msg=x", None, "web-1"),  # a duration, not a name
    ("msg=x", None, "web-1"),
])
def test_service(line: str, ctx_service: str | None, service: str) -> None:
    ctx = RecordContext(event_id="e", observed_ts=OBSERVED, service=ctx_service,
                        source_name="web-1")
    assert parse(line, ctx).service == service


def test_without_source_the_service_is_unknown() -> None:
    ctx = RecordContext(event_id="e", observed_ts=OBSERVED, service=None, source_name=None)
    assert parse("msg=x", ctx).service == "unknown"


@pytest.mark.parametrize(("line", "attrs", "status"), [
    ("status=ok msg=x", {"status": "ok"}, None),
    ("status=2000 msg=x", {"status": "2000"}, None),
    ("status=404 bytes=- msg=x", {"bytes": "-"}, 404),
    ("latency=12 msg=x", {"latency": "12"}, None),  # no unit: not a duration
    ("latency_ms=12.5 msg=x", {}, None),
])
def test_http_fields_only_when_they_fit(line: str, attrs: dict[str, Any],
                                        status: int | None) -> None:
    event = parse(line)
    assert event.attrs == attrs
    assert (event.http.status if event.http else None) == status


def test_latency_ms_is_milliseconds() -> None:
    event = parse("latency_ms=12.5 msg=x")
    assert event.http is not None and event.http.duration_ms == 12.5


@pytest.mark.parametrize(("text", "ms"), [
    ("4ms", 4.0), ("1.5s", 1500.0), ("250us", 0.25), ("250µs", 0.25), ("250μs", 0.25),
    ("2m", 120_000.0), ("1h", 3_600_000.0), ("1h2m3.5s", 3_723_500.0), ("800ns", 0.0008),
    ("-1.5s", -1500.0), ("+2s", 2000.0), (".5s", 500.0), ("0", 0.0), ("1m30s", 90_000.0),
])
def test_parse_duration_ms(text: str, ms: float) -> None:
    assert parse_duration_ms(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["", "5", "ms", "1.2.3s", "5 ms", "1e3ms", "inf", "nanms",
                                  "5d", "1h-2m", "٣ms", "1" * 400 + "h"])
def test_parse_duration_ms_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_ms(text)


@pytest.mark.parametrize("line", ["no pairs here at all", "flag other-flag", "=", "a ="])
def test_lines_without_pairs_are_mismatches(line: str) -> None:
    with pytest.raises(ParseError) as info:
        LogfmtParser().parse(line, CTX)
    assert info.value.reason is Reason.FORMAT_MISMATCH


def test_matches() -> None:
    parser = LogfmtParser()
    assert parser.matches(HEROKU)
    assert parser.matches("ts=2026-11-22T04:00:00Z level=info msg=hi")
    assert parser.matches("_a.b-c=1")
    for line in NOT_LOGFMT:
        assert not parser.matches(line), line


# ------------------------------------------------------------------ properties

@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_an_event_or_a_parse_error(text: str) -> None:
    try:
        event = LogfmtParser().parse(text, CTX)
    except ParseError as exc:
        assert exc.reason in (Reason.FORMAT_MISMATCH, Reason.BAD_FIELD)
        return
    event.to_doc()


_TRICKY = st.text(alphabet=st.sampled_from('ab=" \t\\=\u00a0\u2028\x1cé'), max_size=40)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | _TRICKY)
def test_fast_path_agrees_with_the_grammar(text: str) -> None:
    """Lines without backslashes and with balanced quotes take a split-based fast path."""
    if "\\" in text or text.count('"') % 2:
        return
    expected: dict[str, Any] = {}
    stray = []
    for key, eq, quoted, bare, junk in logfmt._TOKEN.findall(text):
        if junk:
            stray.append(junk)
        else:
            logfmt._put(expected, key, (bare or quoted) if eq else True)
    assert parse_pairs(text) == (expected, stray)


_KEY = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,12}", fullmatch=True)
_VALUE = st.text(st.characters(codec="utf-8"), max_size=30)


def _encode(value: str) -> str:
    if value and not any(c in value for c in ' ="\\') and not any(c.isspace() for c in value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped.replace(chr(9), chr(92) + "t").replace(chr(13), chr(92) + "r")}"'


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEY, _VALUE, min_size=1, max_size=8))
def test_encoded_pairs_round_trip(pairs: dict[str, str]) -> None:
    line = " ".join(f"{key}={_encode(value)}" for key, value in pairs.items())
    assert parse_pairs(line) == (pairs, [])
