"""Syslog parsers (RFC 3164, RFC 5424, auto-detecting ``syslog``): tables plus properties."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, Reason
from app.core.parsing.base import Parser, RecordContext
from app.core.parsing.syslog import SyslogParser
from app.core.parsing.syslog3164 import Syslog3164Parser
from app.core.parsing.syslog5424 import Syslog5424Parser
from app.core.parsing.syslog_common import decode_pri
from app.core.timeparse import epoch_from_iso

OBSERVED = epoch_from_iso("2026-11-22T04:00:00Z")
CTX = RecordContext(event_id="e1", observed_ts=OBSERVED, service=None, source_name="10.0.0.9")


def ctx_at(iso: str, service: str | None = None) -> RecordContext:
    return RecordContext(event_id="e", observed_ts=epoch_from_iso(iso), service=service,
                         source_name="10.0.0.9")


def check(event: Any, expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if key == "ts":
            assert event.ts == pytest.approx(epoch_from_iso(value), abs=1e-6), key
        elif key.startswith("attrs."):
            assert event.attrs.get(key[6:]) == value, key
        else:
            assert getattr(event, key) == value, key
    event.to_doc()


# ------------------------------------------------------------------------- RFC 3164
RFC3164_CASES: list[tuple[str, dict[str, Any]]] = [
    ("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
     {"ts": "2026-10-11T22:14:15Z", "host": "mymachine", "service": "su",
      "message": "'su root' failed for lonvick on /dev/pts/8", "severity_number": 21,
      "severity_text": "crit", "attrs.program": "su", "attrs.pid": 123,
      "attrs.facility": "auth"}),
    ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
     "euid=0 tty=NODEVssh ruser= rhost=218.188.2.4",
     {"ts": "2026-06-14T15:16:01Z", "host": "combo", "service": "sshd(pam_unix)",
      "message": "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= "
                 "rhost=218.188.2.4",
      "severity_number": 0, "severity_text": "", "attrs.program": "sshd(pam_unix)",
      "attrs.pid": 19939, "attrs.facility": None}),
    ('<13>Nov 22 04:00:00 web-1 nginx: 10.1.2.3 "GET / HTTP/1.1" 200',
     {"ts": "2026-11-22T04:00:00Z", "host": "web-1", "service": "nginx",
      "message": '10.1.2.3 "GET / HTTP/1.1" 200', "severity_number": 10,
      "severity_text": "notice", "attrs.facility": "user", "attrs.pid": None}),
    ("<30>Jun  1 08:05:09 db-2 systemd[1]: Started Session 42 of user root.",
     {"ts": "2026-06-01T08:05:09Z", "host": "db-2", "attrs.program": "systemd",
      "attrs.pid": 1, "severity_text": "info", "severity_number": 9,
      "attrs.facility": "daemon"}),
    ("Nov 21 23:59:59 mx1 postfix/smtpd[2231]: connect from unknown[192.0.2.7]",
     {"ts": "2026-11-21T23:59:59Z", "attrs.program": "postfix/smtpd", "attrs.pid": 2231,
      "message": "connect from unknown[192.0.2.7]"}),
    ("Nov 22 03:58:00 laptop org.gnome.Shell.desktop[2210]: Window manager warning: x",
     {"attrs.program": "org.gnome.Shell.desktop", "attrs.pid": 2210}),
    ("<14>Nov 22 03:59:00 switch-7 Interface Gi0/1 changed state to up",
     {"host": "switch-7", "attrs.program": None, "service": "10.0.0.9",
      "message": "Interface Gi0/1 changed state to up"}),
    ("<78>Nov 22 03:59:00 CRON[999]: (root) CMD (run-parts /etc/cron.hourly)",
     {"host": None, "attrs.program": "CRON", "attrs.pid": 999, "attrs.facility": "cron",
      "message": "(root) CMD (run-parts /etc/cron.hourly)"}),
    ("2026-11-22T04:00:00.123456+00:00 app-3 worker[42]: job done",
     {"ts": "2026-11-22T04:00:00.123456Z", "host": "app-3", "attrs.program": "worker",
      "attrs.pid": 42, "message": "job done", "severity_number": 0}),
    ("<11>2026-11-22T05:00:00+01:00 app-3 worker: failed",
     {"ts": "2026-11-22T04:00:00Z", "severity_text": "err", "severity_number": 17}),
    ("<13>Nov 22 04:00:00 2001:db8::1 kernel: [    1.234] eth0: link up",
     {"host": "2001:db8::1", "attrs.program": "kernel", "message": "[    1.234] eth0: link up"}),
    ("<13>Nov 22 04:00:00 ::1 app: local", {"host": "::1", "attrs.program": "app"}),
    ("<0>Nov 22 04:00:00 h kernel: panic",
     {"severity_number": 24, "severity_text": "emerg", "attrs.facility": "kern"}),
    ("<191>Nov 22 04:00:00 h app: trace",
     {"severity_number": 5, "severity_text": "debug", "attrs.facility": "local7"}),
    ("<9>Nov 22 04:00:00 h app: x", {"severity_number": 23, "severity_text": "alert"}),
    ("<12>Nov 22 04:00:00 h app: x", {"severity_number": 13, "severity_text": "warning"}),
    ("<13>Nov 22 04:00:00 h app:", {"attrs.program": "app", "message": ""}),
    ("<13>Nov 22 04:00:00 h", {"host": "h", "message": "", "attrs.program": None}),
    ("<13>Nov 22 04:00:00 h " + "t" * 33 + ": long tag",
     {"attrs.program": None, "message": "t" * 33 + ": long tag"}),
    ("<13>Nov 22 04:00:00 h app: first line\n  second line",
     {"message": "first line\n  second line"}),
]


@pytest.mark.parametrize(("line", "expected"), RFC3164_CASES)
def test_rfc3164_lines(line: str, expected: dict[str, Any]) -> None:
    for parser in (Syslog3164Parser(), SyslogParser()):
        event = parser.parse(line, CTX)
        check(event, expected)
        assert event.parser == "syslog3164"
        assert Syslog3164Parser().matches(line)


def test_service_header_wins_over_program() -> None:
    event = Syslog3164Parser().parse("<13>Nov 22 04:00:00 h nginx: x", ctx_at(
        "2026-11-22T04:00:00Z", service="web"))
    assert event.service == "web"
    assert event.attrs["program"] == "nginx"


@pytest.mark.parametrize(("observed", "line", "expected"), [
    # a Dec 31 line received just after New Year belongs to the old year
    ("2027-01-01T00:00:05Z", "Dec 31 23:59:58 h t: x", "2026-12-31T23:59:58Z"),
    # a Jan 1 line from a sender slightly ahead, received on Dec 31, is next year's
    ("2026-12-31T23:59:59Z", "Jan  1 00:00:02 h t: x", "2027-01-01T00:00:02Z"),
    # up to a day in the future (clock skew) stays in the receive year
    ("2026-11-22T04:00:00Z", "Nov 22 20:00:00 h t: x", "2026-11-22T20:00:00Z"),
    # more than a day ahead: last year's line (old file replayed)
    ("2026-11-22T04:00:00Z", "Nov 24 04:00:00 h t: x", "2025-11-24T04:00:00Z"),
    # an old line early in the year stays in the receive year
    ("2026-12-31T12:00:00Z", "Jan  5 00:00:00 h t: x", "2026-01-05T00:00:00Z"),
    # Feb 29 read in a common year is from the leap year before
    ("2029-01-10T00:00:00Z", "Feb 29 12:00:00 h t: x", "2028-02-29T12:00:00Z"),
])
def test_rfc3164_year_inference(observed: str, line: str, expected: str) -> None:
    event = Syslog3164Parser().parse(line, ctx_at(observed))
    assert event.ts == epoch_from_iso(expected)


def test_rfc3164_time_zone_is_per_instance() -> None:
    line = "Jun 14 15:16:01 combo sshd[1]: x"
    paris = Syslog3164Parser(tz="Europe/Paris").parse(line, CTX)
    assert paris.ts == epoch_from_iso("2026-06-14T13:16:01Z")  # CEST, UTC+2
    winter = Syslog3164Parser(tz="Europe/Paris").parse("Jan 14 15:16:01 combo x: y", CTX)
    assert winter.ts == epoch_from_iso("2026-01-14T14:16:01Z")  # CET, UTC+1
    fixed = SyslogParser(tz=timezone(timedelta(hours=-5))).parse(line, CTX)
    assert fixed.ts == epoch_from_iso("2026-06-14T20:16:01Z")
    # the ISO variant carries its own offset: the configured zone does not apply
    iso = Syslog3164Parser(tz="Europe/Paris").parse("2026-06-14T15:16:01Z h t: x", CTX)
    assert iso.ts == epoch_from_iso("2026-06-14T15:16:01Z")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Syslog3164Parser(tz="Mars/Olympus")


@pytest.mark.parametrize(("line", "reason"), [
    ("<192>Nov 22 04:00:00 h app: x", Reason.BAD_FIELD),
    ("<1000>Nov 22 04:00:00 h app: x", Reason.BAD_FIELD),
    ("Foo 22 04:00:00 h app: x", Reason.BAD_FIELD),
    ("Feb 30 04:00:00 h app: x", Reason.BAD_FIELD),
    ("Nov 22 24:00:00 h app: x", Reason.BAD_FIELD),
    ("Nov 22 04:60:00 h app: x", Reason.BAD_FIELD),
    ("Nov 22 04:00:61 h app: x", Reason.BAD_FIELD),
    ("2026-02-30T04:00:00Z h app: x", Reason.BAD_FIELD),
    ("2026-11-22T04:00:00+25:00 h app: x", Reason.BAD_FIELD),
    ("hello world", Reason.FORMAT_MISMATCH),
    ("", Reason.FORMAT_MISMATCH),
    ("<13>", Reason.FORMAT_MISMATCH),
    ("<13>Nov 22 04:00:00garbage", Reason.FORMAT_MISMATCH),
    ('{"level": "info", "msg": "json"}', Reason.FORMAT_MISMATCH),
    ("<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - msg", Reason.FORMAT_MISMATCH),
    ("Nov 22 04:00 h app: no seconds", Reason.FORMAT_MISMATCH),
])
def test_rfc3164_errors(line: str, reason: Reason) -> None:
    with pytest.raises(ParseError) as info:
        Syslog3164Parser().parse(line, CTX)
    assert info.value.reason is reason
    assert info.value.parser == "syslog3164"


# ------------------------------------------------------------------------- RFC 5424
SD_EXAMPLE = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
RFC5424_CASES: list[tuple[str, dict[str, Any]]] = [
    ("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
     "\ufeff'su root' failed for lonvick on /dev/pts/8",
     {"ts": "2003-10-11T22:14:15.003Z", "host": "mymachine.example.com", "service": "su",
      "message": "'su root' failed for lonvick on /dev/pts/8", "severity_number": 21,
      "severity_text": "crit", "attrs.program": "su", "attrs.msgid": "ID47",
      "attrs.pid": None, "attrs.facility": "auth", "attrs.sd": None}),
    ("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make "
     "the do-nuts.",
     {"ts": "2003-08-24T12:14:15.000003Z", "host": "192.0.2.1", "attrs.program": "myproc",
      "attrs.pid": 8710, "attrs.msgid": None, "severity_text": "notice",
      "attrs.facility": "local4", "message": "%% It's time to make the do-nuts."}),
    ("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " + SD_EXAMPLE
     + " \ufeffAn application event log entry...",
     {"message": "An application event log entry...", "attrs.sd": {
         "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}}}),
    ("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " + SD_EXAMPLE
     + '[examplePriority@32473 class="high"]',
     {"message": "", "attrs.sd": {
         "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
         "examplePriority@32473": {"class": "high"}}}),
    ("<13>1 - - - - - -",
     {"ts": "2026-11-22T04:00:00Z", "host": None, "service": "10.0.0.9", "message": "",
      "attrs.program": None, "attrs.pid": None, "attrs.msgid": None, "attrs.sd": None}),
    ("<13>1 - - - - - - only a message", {"message": "only a message", "host": None}),
    ('<13>1 2026-11-22T04:00:00Z h app - - [meta a="x\\]y" b="say \\"hi\\"" '
     'c="back\\\\slash" d="keep \\n" e=""] msg',
     {"message": "msg", "attrs.sd": {"meta": {
         "a": "x]y", "b": 'say "hi"', "c": "back\\slash", "d": "keep \\n", "e": ""}}}),
    ('<13>1 2026-11-22T04:00:00Z h app - - [origin ip="192.0.2.1" ip="192.0.2.129"]',
     {"attrs.sd": {"origin": {"ip": ["192.0.2.1", "192.0.2.129"]}}}),
    ('<13>1 2026-11-22T04:00:00Z h app - - [a x="]"][b][c y="1"] m',
     {"message": "m", "attrs.sd": {"a": {"x": "]"}, "b": {}, "c": {"y": "1"}}}),
    ("<13>1 2026-11-22T04:00:00Z h app worker-3 - - x", {"attrs.pid": "worker-3"}),
    ("<13>1 2026-11-22T04:00:00.5+05:30 2001:db8::7 app 1 - - ipv6",
     {"host": "2001:db8::7", "ts": "2026-11-21T22:30:00.5Z", "message": "ipv6"}),
    ('<13>1 2026-11-22T04:00:00.123456+00:00 host-1 root - - [timeQuality tzKnown="1" '
     'isSynced="1" syncAccuracy="35000"] hello from logger',
     {"host": "host-1", "service": "root", "message": "hello from logger",
      "attrs.sd": {"timeQuality": {"tzKnown": "1", "isSynced": "1", "syncAccuracy": "35000"}}}),
    ("<0>1 - h a - - - x", {"severity_number": 24, "attrs.facility": "kern"}),
    ("<191>1 - h a - - - x", {"severity_number": 5, "attrs.facility": "local7"}),
    ("<13>1 - h a - - - line one\nline two", {"message": "line one\nline two"}),
    ("<13>1 - h a - - -  two leading spaces", {"message": " two leading spaces"}),
    ("<13>1 - h a - -", {"message": "", "attrs.sd": None}),  # SD left out: tolerated
]


@pytest.mark.parametrize(("line", "expected"), RFC5424_CASES)
def test_rfc5424_lines(line: str, expected: dict[str, Any]) -> None:
    for parser in (Syslog5424Parser(), SyslogParser()):
        event = parser.parse(line, CTX)
        check(event, expected)
        assert event.parser == "syslog5424"
        assert Syslog5424Parser().matches(line)


@pytest.mark.parametrize(("line", "reason"), [
    ("<192>1 - h a - - - x", Reason.BAD_FIELD),
    ("<13>0 - h a - - - x", Reason.BAD_FIELD),
    ("<13>1 2026-13-01T00:00:00Z h a - - - x", Reason.BAD_FIELD),
    ("<13>1 2026-11-22T04:00:00 h a - - - no offset", Reason.BAD_FIELD),
    ("<13>1 yesterday h a - - - x", Reason.BAD_FIELD),
    ("<13>1 2026-11-22 04:00:00Z h a - - - x", Reason.BAD_FIELD),
    ("<13>1 - h " + "a" * 49 + " - - - x", Reason.BAD_FIELD),
    ("<13>1 - h a - " + "m" * 33 + " - x", Reason.BAD_FIELD),
    ("<13>1 - h a - - [id a=1] x", Reason.BAD_FIELD),
    ('<13>1 - h a - - [id a="1" x', Reason.BAD_FIELD),
    ('<13>1 - h a - - [id a="1]', Reason.BAD_FIELD),
    ('<13>1 - h a - - [id a="1"]x', Reason.BAD_FIELD),
    ('<13>1 - h a - - [id a="1" ]', Reason.BAD_FIELD),
    ('<13>1 - h a - - [ a="1"]', Reason.BAD_FIELD),
    ("<13>1 - h a - - -x", Reason.BAD_FIELD),
    ("<13>1 - h a - - message-without-sd", Reason.BAD_FIELD),
    ("<13>1 0000-01-01T00:00:00+01:00 h a - - - x", Reason.BAD_FIELD),
    ("<13>1 9999-12-31T23:59:59-01:00 h a - - - x", Reason.BAD_FIELD),
    ("<13>1 - h a -", Reason.FORMAT_MISMATCH),
    ("<13>Nov 22 04:00:00 web-1 nginx: x", Reason.FORMAT_MISMATCH),
    ("garbage", Reason.FORMAT_MISMATCH),
    ("", Reason.FORMAT_MISMATCH),
])
def test_rfc5424_errors(line: str, reason: Reason) -> None:
    with pytest.raises(ParseError) as info:
        Syslog5424Parser().parse(line, CTX)
    assert info.value.reason is reason
    assert info.value.parser == "syslog5424"


# ------------------------------------------------------------------------- auto + common
@pytest.mark.parametrize(("line", "reason"), [
    ("<192>Nov 22 04:00:00 h app: x", Reason.BAD_FIELD),
    ("<192>1 - h a - - - x", Reason.BAD_FIELD),
    ("<13>1 2026-02-30T00:00:00Z h a - - - x", Reason.BAD_FIELD),
    ("Foo 22 04:00:00 h app: x", Reason.BAD_FIELD),
    ("just some text", Reason.FORMAT_MISMATCH),
    ("<13>", Reason.FORMAT_MISMATCH),
    ("\x00\x01\x02", Reason.FORMAT_MISMATCH),
])
def test_syslog_errors_name_the_syslog_parser(line: str, reason: Reason) -> None:
    with pytest.raises(ParseError) as info:
        SyslogParser().parse(line, CTX)
    assert (info.value.reason, info.value.parser) == (reason, "syslog")


def test_matches_is_a_cheap_shape_check() -> None:
    auto, bsd, ietf = SyslogParser(), Syslog3164Parser(), Syslog5424Parser()
    assert ietf.matches("<13>1 - - - - - -") and not bsd.matches("<13>1 - - - - - -")
    assert bsd.matches("<13>Nov 22 04:00:00 h a: x") and not ietf.matches("<13>Nov 22 x")
    assert bsd.matches("2026-11-22T04:00:00Z h a: x")
    assert bsd.matches("Jun  1 08:05:09 h")
    for text in ("hello", "", '{"a": 1}', '1.2.3.4 - - [22/Nov/2026:04:00:00 +0000] "GET /"',
                 "2026-11-22T04:00:00Z level=info msg=started",  # ISO-led, but no host + tag
                 "2026-11-22T04:00:00.123Z INFO app.main: started",
                 "2026-11-22 03:46:58,893 - app.db - ERROR - query failed",
                 "Mon 22 04:00:00 h a: x", "2026/11/22 04:00:00 [error] 1#0: *1 x"):
        assert not auto.matches(text), text


def test_pri_table() -> None:
    assert [(p.facility_name, p.severity_name) for p in map(
        lambda v: decode_pri(v, "t"), ("0", "13", "34", "165", "191", "013"))] == [
        ("kern", "emerg"), ("user", "notice"), ("auth", "crit"), ("local4", "notice"),
        ("local7", "debug"), ("user", "notice")]
    for bad in ("192", "999", "", "١٣"):
        with pytest.raises(ParseError):
            decode_pri(bad, "t")


# ------------------------------------------------------------------------- properties
PARSERS: list[Parser] = [Syslog3164Parser(), Syslog5424Parser(), SyslogParser(),
                         SyslogParser("Asia/Tokyo")]
PREFIXES = st.sampled_from(["", "<13>", "<191>", "<13>1 ", "<13>1 - h a - - ", "Nov 22 ",
                            "<13>Nov 22 04:00:00 ", "2026-11-22T04:00:00Z ", "Feb 29 04:00:00 ",
                            "<13>1 2026-11-22T04:00:00Z h a 1 m [x ", "Jun  1 08:05:09 h "])


def _only_parse_errors(text: str, observed: float = OBSERVED) -> None:
    ctx = RecordContext(event_id="e", observed_ts=observed, service=None, source_name="s")
    for parser in PARSERS:
        try:
            event = parser.parse(text, ctx)
        except ParseError as exc:
            assert exc.parser == parser.name
            continue
        orjson.dumps(event.to_doc())


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_parse_error(text: str) -> None:
    _only_parse_errors(text)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_any_bytes_parse_or_raise_parse_error(raw: bytes) -> None:
    _only_parse_errors(raw.decode("utf-8", errors="replace"))


@settings(max_examples=500, deadline=None)
@given(PREFIXES, st.text(), st.floats(min_value=0, max_value=2.5e11))
def test_syslog_shaped_text_parses_or_raises_parse_error(prefix: str, tail: str,
                                                         observed: float) -> None:
    _only_parse_errors(prefix + tail, observed)
