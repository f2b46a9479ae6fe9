"""User-defined patterns and the compiled strptime-style timestamp formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, Reason
from app.core.parsing.base import RecordContext
from app.core.parsing.pattern import PatternParser
from app.core.timeformat import TimeFormat, resolve_tz, wall_epoch
from app.core.timeparse import epoch_from_iso

OBSERVED = epoch_from_iso("2026-11-22T04:00:00Z")
CTX = RecordContext(event_id="e1", observed_ts=OBSERVED, service=None, source_name="src-1")
ZK = PatternParser(
    "zookeeper",
    r"(?P<ts>\S+ \S+) - (?P<level>[A-Z]+) +\[(?P<thread>.*):(?P<logger>[\w$]+)@(?P<line>\d+)\]"
    r" - (?P<message>.*)",
    "%Y-%m-%d %H:%M:%S,%f")
ACCESS = PatternParser(
    "svc_access",
    r"(?P<ts>\S+) (?P<host>\S+) (?P<svc>\S+) (?P<client_ip>\S+) (?P<method>[A-Z]+) (?P<path>\S+)"
    r" (?P<status>\S+) (?P<bytes>\S+) (?P<duration_ms>\S+)ms ?(?P<msg>.*)",
    "iso8601", field_map={"svc": "service"})


def parse(parser: PatternParser, line: str, ctx: RecordContext = CTX) -> Any:
    event = parser.parse(line, ctx)
    event.to_doc()
    assert event.parser == parser.name
    return event


def test_zookeeper_pattern() -> None:
    event = parse(ZK, "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181"
                      ":FastLeaderElection@774] - Notification time out: 3200")
    assert event.ts == pytest.approx(epoch_from_iso("2015-07-29T17:41:44.747Z"), abs=1e-6)
    assert (event.severity_number, event.severity_text) == (9, "INFO")
    assert event.logger == "FastLeaderElection"
    assert event.message == "Notification time out: 3200"
    assert event.attrs == {"thread": "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181", "line": "774"}
    assert event.service == "src-1"


def test_access_pattern_with_field_map() -> None:
    event = parse(ACCESS, "2026-11-22T04:00:00.5Z web-3 checkout 2001:db8::1 POST /pay 502 - "
                          "12.5ms upstream reset")
    assert event.ts == OBSERVED + 0.5
    assert (event.host, event.service, event.message) == ("web-3", "checkout", "upstream reset")
    assert event.http is not None
    assert (event.http.client_ip, event.http.method, event.http.path) == ("2001:db8::1", "POST",
                                                                           "/pay")
    assert (event.http.status, event.http.bytes, event.http.duration_ms) == (502, None, 12.5)
    assert (event.severity_number, event.severity_text) == (17, "ERROR")  # from the status
    assert event.attrs == {}


def test_context_service_wins_over_the_line() -> None:
    ctx = RecordContext(event_id="e", observed_ts=OBSERVED, service="hdr", source_name="s")
    line = "2026-11-22T04:00:00Z h checkout 1.1.1.1 GET / 200 10 1ms ok"
    assert parse(ACCESS, line, ctx).service == "hdr"


@pytest.mark.parametrize(("line", "detail"), [
    ("2026-11-22T04:00:00Z h s 1.1.1.1 GET / abc 10 1ms x", "http field"),
    ("2026-11-22T04:00:00Z h s 1.1.1.1 GET / 1000 10 1ms x", "status"),
    ("2026-11-22T04:00:00Z h s 1.1.1.1 GET / 200 -5 1ms x", "bytes"),
    ("2026-11-22T04:00:00Z h s 1.1.1.1 GET / 200 10 nanms x", "duration_ms"),
    ("2026-11-22T04:00:00Z h s 1.1.1.1 GET / 200 10 1e999ms x", "duration_ms"),
    ("2026-13-22T04:00:00Z h s 1.1.1.1 GET / 200 10 1ms x", "timestamp"),
    ("yesterday h s 1.1.1.1 GET / 200 10 1ms x", "timestamp"),
])
def test_bad_fields(line: str, detail: str) -> None:
    with pytest.raises(ParseError) as info:
        ACCESS.parse(line, CTX)
    assert info.value.reason is Reason.BAD_FIELD and info.value.parser == "svc_access"
    assert detail in info.value.detail


def test_mismatch() -> None:
    assert not ZK.matches("just text")
    with pytest.raises(ParseError) as info:
        ZK.parse("just text", CTX)
    assert info.value.reason is Reason.FORMAT_MISMATCH


def test_folded_lines_after_the_match_join_the_message() -> None:
    parser = PatternParser("p", r"(?P<level>\w+): (?P<message>.*)")
    event = parse(parser, "ERROR: boom\nTraceback (most recent call last):\n  File x")
    assert event.message == "boom\nTraceback (most recent call last):\n  File x"
    assert event.ts == OBSERVED  # no timestamp group: the observed time


def test_several_groups_may_fill_one_field() -> None:
    parser = PatternParser("alt", r"(?:\[(?P<l1>\w+)\]|(?P<l2>\w+):) (?P<message>.*)",
                           field_map={"l1": "level", "l2": "level"})
    assert parse(parser, "[warn] a").severity_number == 13
    assert parse(parser, "error: b").severity_number == 17


def test_empty_optional_groups_are_ignored() -> None:
    parser = PatternParser("opt", r"(?P<level>\w*)\|(?P<extra>\w*)\|(?P<gone>x)?(?P<message>.*)")
    event = parse(parser, "||hello")
    assert (event.severity_text, event.severity_number) == ("UNSPECIFIED", 0)
    assert event.attrs == {"extra": ""}


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"regex": "(?P<message>.*"}, "regex does not compile"),
    ({"regex": r"(?P<level>\w+) (?P<text>.*)"}, "needs a (?P<message>...)"),
    ({"regex": r"(?P<message>.*)", "timestamp_format": "%Y"}, "no (?P<ts>...)"),
    ({"regex": r"(?P<ts>\S+) (?P<message>.*)", "timestamp_format": "%Y-%m-%d %Q"},
     "directive %Q is not supported"),
    ({"regex": r"(?P<ts>\S+) (?P<message>.*)", "timestamp_format": "%Y-%m-%d %"},
     "is not supported"),
    ({"regex": r"(?P<ts>\S+) (?P<message>.*)", "timestamp_format": "%Y %Y-%m-%d"},
     "%Y repeats a field"),
    ({"regex": r"(?P<ts>\S+) (?P<message>.*)", "timestamp_format": "%Y %y %m %d"},
     "both give one field"),
    ({"regex": r"(?P<ts>\S+) (?P<message>.*)", "timestamp_format": "%H:%M:%S"}, "has no date"),
    ({"regex": r"(?P<ts>\S+) (?P<message>.*)", "timestamp_format": "%Y-%m %H"}, "has no date"),
    ({"regex": r"(?P<message>.*)", "field_map": {"nope": "level"}}, "does not define: nope"),
    ({"regex": r"(?P<message>.*)", "tz": "Nowhere/Special"}, "unknown time zone"),
])
def test_construction_errors_name_the_problem(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match="pattern 'custom'") as info:
        PatternParser("custom", **kwargs)
    assert problem in str(info.value)


def test_timestamp_group_without_format_defaults_to_iso8601() -> None:
    parser = PatternParser("p", r"(?P<timestamp>\S+) (?P<msg>.*)")
    assert parse(parser, "2026-11-22T05:00:00+01:00 x").ts == OBSERVED


# ------------------------------------------------------------------ TimeFormat

@pytest.mark.parametrize(("fmt", "text", "iso"), [
    ("%Y-%m-%d %H:%M:%S,%f", "2026-11-22 04:00:00,250", "2026-11-22T04:00:00.25Z"),
    ("%d/%b/%Y:%H:%M:%S %z", "22/Nov/2026:05:00:00 +0100", "2026-11-22T04:00:00Z"),
    ("%d/%b/%Y:%H:%M:%S %z", "22/nov/2026:04:00:00 Z", "2026-11-22T04:00:00Z"),
    ("%Y-%m-%dT%H:%M:%S%z", "2026-11-21T23:00:00-05:00", "2026-11-22T04:00:00Z"),
    ("%Y%m%d%H%M%S", "20261122040000", "2026-11-22T04:00:00Z"),
    ("%y%m%d %H%M%S", "261122 040000", "2026-11-22T04:00:00Z"),  # MySQL / glog style
    ("%y-%m-%d", "69-01-01", "1969-01-01T00:00:00Z"),
    ("%Y-%j %H:%M", "2024-366 04:00", "2024-12-31T04:00:00Z"),
    ("%d %B %Y %I:%M %p", "22 November 2026 12:30 AM", "2026-11-22T00:30:00Z"),
    ("%d %B %Y %I:%M %p", "22 November 2026 12:30 pm", "2026-11-22T12:30:00Z"),
    ("%a %b %d %H:%M:%S %Y", "Sun Nov 22 04:00:00 2026", "2026-11-22T04:00:00Z"),
    ("%Y-%m-%d %H:%M:%S %Z", "2026-11-22 04:00:00 UTC", "2026-11-22T04:00:00Z"),
    ("%Y-%m-%d %H:%M:%S", "2026-11-22   04:00:00", "2026-11-22T04:00:00Z"),  # whitespace run
    ("%Y-%m-%d %H:%M:%S", "2016-12-31 23:59:60", "2017-01-01T00:00:00Z"),  # leap second
    ("%Y-%m-%d %H:%M:%S.%f", "2026-11-22 04:00:00.123456789", "2026-11-22T04:00:00.123456789Z"),
    ("100%% %Y-%m-%d", "100% 2026-11-22", "2026-11-22T00:00:00Z"),
    ("epoch", "1795320000.25", "2026-11-22T04:00:00.25Z"),
    ("epoch_ms", "1795320000250", "2026-11-22T04:00:00.25Z"),
    ("iso8601", "2026-11-22T04:00:00.25Z", "2026-11-22T04:00:00.25Z"),
])
def test_time_formats(fmt: str, text: str, iso: str) -> None:
    assert TimeFormat(fmt)(text, OBSERVED) == pytest.approx(epoch_from_iso(iso), abs=1e-6)


def test_local_zone_applies_without_an_offset() -> None:
    parse_time = TimeFormat("%Y-%m-%d %H:%M:%S", "Europe/Paris")
    assert parse_time("2026-07-01 12:00:00") == epoch_from_iso("2026-07-01T10:00:00Z")
    assert parse_time("2026-12-01 12:00:00") == epoch_from_iso("2026-12-01T11:00:00Z")
    with_offset = TimeFormat("%Y-%m-%d %H:%M:%S %z", "Europe/Paris")
    assert with_offset("2026-07-01 12:00:00 +0000") == epoch_from_iso("2026-07-01T12:00:00Z")


@pytest.mark.parametrize(("text", "observed", "iso"), [
    ("Nov 22 04:00:00", "2026-11-22T04:00:05Z", "2026-11-22T04:00:00Z"),
    ("Dec 31 23:59:59", "2027-01-01T00:00:01Z", "2026-12-31T23:59:59Z"),  # back over New Year
    ("Jan  1 00:00:01", "2026-12-31T23:59:59Z", "2026-01-01T00:00:01Z"),  # not in the future
])
def test_year_is_inferred_from_the_observed_time(text: str, observed: str, iso: str) -> None:
    parse_time = TimeFormat("%b %d %H:%M:%S")
    assert parse_time(text, epoch_from_iso(observed)) == epoch_from_iso(iso)


def test_per_second_cache_keeps_fractions_apart() -> None:
    parse_time = TimeFormat("%Y-%m-%d %H:%M:%S.%f")
    first = parse_time("2026-11-22 04:00:00.100")
    assert parse_time("2026-11-22 04:00:00.900") - first == pytest.approx(0.8)
    assert parse_time("2026-11-22 04:00:00.1") == first


@pytest.mark.parametrize(("fmt", "text"), [
    ("%Y-%m-%d", "2026-02-30"), ("%Y-%m-%d", "2026-13-01"), ("%Y-%m-%d %H", "2026-01-01 24"),
    ("%Y-%j", "2026-366"), ("%Y-%j", "2026-000"), ("%d %b %Y", "01 Foo 2026"),
    ("%d %B %Y", "01 Janvier 2026"), ("%I %p %Y-%m-%d", "13 PM 2026-01-01"),
    ("%Y-%m-%d %z", "2026-01-01 +2500"), ("%Y-%m-%d", "0000-01-01"), ("%Y-%m-%d", "x"),
    ("%Y-%m-%d %H %z", "9999-12-31 23 -0200"), ("epoch", "1e300"), ("epoch", "nan"),
    ("epoch_ms", "x"), ("iso8601", "2026-11-22T25:00:00"),
    ("%b %d", "Feb 29"),  # inferred year 2026 is not a leap year
])
def test_impossible_times_raise_value_error(fmt: str, text: str) -> None:
    with pytest.raises(ValueError):
        TimeFormat(fmt)(text, OBSERVED)


_FORMATS = ["%Y-%m-%d %H:%M:%S", "%d/%b/%Y:%H:%M:%S", "%Y%m%d%H%M%S.%f",
            "%b %d %Y %I:%M:%S %p", "%Y-%j %H:%M", "%A, %d %B %Y %H:%M:%S", "%y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S.%f%z"]


@settings(max_examples=400, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2068, 12, 31)),
       fmt=st.sampled_from(_FORMATS),
       offset=st.integers(-14 * 60, 14 * 60))
def test_compiled_formats_agree_with_strptime(moment: datetime, fmt: str, offset: int) -> None:
    zone = timezone(timedelta(minutes=offset))
    text = moment.replace(tzinfo=zone).strftime(fmt)
    expected = datetime.strptime(text, fmt)
    expected = expected if expected.tzinfo else expected.replace(tzinfo=UTC)
    assert TimeFormat(fmt)(text, OBSERVED) == pytest.approx(expected.timestamp(), abs=1e-6)


def test_wall_epoch_and_resolve_tz() -> None:
    assert wall_epoch(2026, 11, 22, 4, 0, 0, resolve_tz("UTC")) == OBSERVED
    assert resolve_tz(UTC) is UTC
    with pytest.raises(ValueError, match="out of range"):
        wall_epoch(1, 1, 1, 0, 0, 0, resolve_tz("Asia/Tokyo"))  # before 0001-01-01 UTC


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_an_event_or_a_parse_error(text: str) -> None:
    for parser in (ZK, ACCESS, PatternParser("loose", r"(?s)(?P<ts>\S*) ?(?P<level>\S*) ?"
                                             r"(?P<message>.*)", "%Y-%m-%d")):
        try:
            event = parser.parse(text, CTX)
        except ParseError as exc:
            assert exc.reason in (Reason.FORMAT_MISMATCH, Reason.BAD_FIELD)
            continue
        event.to_doc()
