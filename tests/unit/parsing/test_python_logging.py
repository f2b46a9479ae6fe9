"""Python logging parser: layouts, levels, time zones, tracebacks (real ones), properties."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, Reason
from app.core.parsing.base import RecordContext
from app.core.parsing.python_logging import PythonLoggingParser, python_severity
from app.core.timeparse import epoch_from_iso

OBSERVED = epoch_from_iso("2026-11-22T04:00:00Z")
CTX = RecordContext(event_id="e1", observed_ts=OBSERVED, service=None, source_name="app-1")
TRACEBACK = """2026-11-22 03:46:58,893 - app.db - ERROR - query failed
Traceback (most recent call last):
  File "<string>", line 6, in <module>
ZeroDivisionError: division by zero"""
CHAINED = """2026-11-22 03:46:58,893 - app - ERROR - lookup failed
Traceback (most recent call last):
  File "/srv/app.py", line 3, in get
    return table[key]
           ~~~~~^^^^^
KeyError: 'user'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app.py", line 5, in get
    raise LookupFailed(key) from None
app.errors.LookupFailed: user
note: retried 3 times"""
JAVA = """2015-10-18 18:01:52,000 ERROR [RMCommunicator Allocator] org.apache.hadoop.Foo: boom
java.lang.IllegalStateException: bad state
\tat org.apache.hadoop.Foo.run(Foo.java:42)
\tat java.lang.Thread.run(Thread.java:745)
Caused by: java.io.IOException: disk
\t... 2 more"""


def parse(line: str, tz: str = "UTC") -> Any:
    event = PythonLoggingParser(tz).parse(line, CTX)
    event.to_doc()
    return event


@pytest.mark.parametrize(("line", "expected"), [
    ("WARNING:root:disk almost full",
     {"severity_text": "WARNING", "severity_number": 13, "logger": "root",
      "message": "disk almost full", "ts": OBSERVED}),
    ("INFO:app.web:GET /health: 200 ok",
     {"logger": "app.web", "message": "GET /health: 200 ok", "severity_number": 9}),
    ("CRITICAL:root:", {"message": "", "severity_number": 21}),
    ("Level 25:root:custom numeric level", {"severity_text": "Level 25", "severity_number": 11}),
    ("2026-11-22 03:46:58,893 - app.db - ERROR - query failed",
     {"ts": "2026-11-22T03:46:58.893Z", "logger": "app.db", "severity_number": 17,
      "message": "query failed"}),
    ("2026-11-22 03:46:58,893 - my app - WARN - name with a space",
     {"logger": "my app", "severity_text": "WARN", "severity_number": 13}),
    ("2026-11-22 03:46:58,893 - app - VERBOSE - custom level name",
     {"severity_text": "VERBOSE", "severity_number": 0}),
    ("2026-11-22 03:46:58,893 - app - INFO     - padded level - with dashes",
     {"severity_text": "INFO", "message": "padded level - with dashes"}),
    ("2026-11-22 03:46:58,893 INFO app.worker: job done",
     {"logger": "app.worker", "message": "job done", "ts": "2026-11-22T03:46:58.893Z"}),
    ("2026-11-22 03:46:58,893 FATAL    app.worker: it broke: badly",
     {"severity_number": 21, "message": "it broke: badly"}),
    ("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: "
     "Created MRAppMaster for application appattempt_1445144423722_0020_000001",
     {"logger": "org.apache.hadoop.mapreduce.v2.app.MRAppMaster", "attrs.thread": "main",
      "ts": "2015-10-18T18:01:47.978Z", "message": "Created MRAppMaster for application "
      "appattempt_1445144423722_0020_000001"}),
    ("2015-10-18 18:01:47,978 WARN [IPC Server handler 5 on 62270] org.Foo - dash separator",
     {"logger": "org.Foo", "attrs.thread": "IPC Server handler 5 on 62270",
      "severity_number": 13, "message": "dash separator"}),
    ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:"
     "FastLeaderElection@774] - Notification time out: 3200",
     {"logger": "FastLeaderElection", "attrs.thread": "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181",
      "attrs.line": 774, "message": "Notification time out: 3200",
      "ts": "2015-07-29T17:41:44.747Z"}),
    ("2015-07-29 19:04:12,394 - WARN  [NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181:NIOServerCnxn@"
     "349] - caught end of stream exception",
     {"logger": "NIOServerCnxn", "attrs.line": 349, "severity_number": 13}),
    ("2026-11-22 03:46:58 [ERROR] no milliseconds, bracketed level",
     {"ts": "2026-11-22T03:46:58Z", "severity_number": 17,
      "message": "no milliseconds, bracketed level"}),
    ("2026-11-22T03:46:58.123456 ERROR iso with microseconds",
     {"ts": "2026-11-22T03:46:58.123456Z", "message": "iso with microseconds"}),
    ("2026-11-22T04:46:58.5+01:00 - app - INFO - explicit offset",
     {"ts": "2026-11-22T03:46:58.5Z"}),
    ("2026-11-22 03:46:58,893 - app - ERROR - windows line\r",
     {"message": "windows line"}),
])
def test_layouts(line: str, expected: dict[str, Any]) -> None:
    check(parse(line), expected)


def check(event: Any, expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if key == "ts":
            want = value if isinstance(value, float) else epoch_from_iso(value)
            assert event.ts == pytest.approx(want, abs=1e-6), key
        elif key.startswith("attrs."):
            assert event.attrs.get(key[6:]) == value, key
        else:
            assert getattr(event, key) == value, key
    assert event.parser == "python"


def test_asctime_is_local_time_of_the_instance_zone() -> None:
    line = "2026-07-01 12:00:00,000 - app - INFO - summer"
    assert parse(line, "Europe/Paris").ts == epoch_from_iso("2026-07-01T10:00:00Z")
    assert parse(line.replace("07-01", "12-01"), "Europe/Paris").ts == epoch_from_iso(
        "2026-12-01T11:00:00Z")
    assert parse(line).ts == epoch_from_iso("2026-07-01T12:00:00Z")


def test_service_comes_from_context_never_from_the_logger() -> None:
    ctx = RecordContext(event_id="e", observed_ts=OBSERVED, service="billing", source_name="h")
    assert PythonLoggingParser().parse("INFO:app:x", ctx).service == "billing"
    assert parse("INFO:app:x").service == "app-1"


@pytest.mark.parametrize(("level", "number"), [
    ("DEBUG", 5), ("INFO", 9), ("WARNING", 13), ("WARN", 13), ("ERROR", 17), ("CRITICAL", 21),
    ("FATAL", 21), ("NOTSET", 0), ("Level 5", 3), ("Level 15", 7), ("Level 25", 11),
    ("Level 45", 19), ("Level 55", 23), ("Level 99", 24), ("Level 0", 0), ("SUCCESS", 0),
])
def test_python_severity(level: str, number: int) -> None:
    assert python_severity(level) == number


def test_traceback_becomes_the_exception() -> None:
    event = parse(TRACEBACK)
    assert event.message == TRACEBACK.split(" - ", 3)[3]  # message + all following lines
    assert event.severity_number == 17  # the logged level, not a guess from the traceback
    assert event.attrs["exception"] == {
        "type": "ZeroDivisionError", "message": "division by zero",
        "stack": TRACEBACK.split("\n", 1)[1]}


def test_chained_traceback_reports_the_last_exception() -> None:
    exc = parse(CHAINED).attrs["exception"]
    assert exc["type"] == "app.errors.LookupFailed"
    assert exc["message"] == "user\nnote: retried 3 times"
    assert exc["stack"].startswith("Traceback (most recent call last):")
    assert "During handling of the above exception" in exc["stack"]
    assert exc["stack"].endswith("note: retried 3 times")


@pytest.mark.parametrize(("tail", "kind", "message"), [
    ("Traceback (most recent call last):\n  File \"x\", line 1, in <module>\nKeyboardInterrupt",
     "KeyboardInterrupt", ""),
    ('  File "bad.py", line 1\n    foo(\n       ^\nSyntaxError: \'(\' was never closed',
     None, None),  # no traceback header: a SyntaxError print, not a traceback
    ("Traceback (most recent call last):\n  File \"x\", line 1, in <module>\n",
     None, None),  # cut off by max_lines: stack only
])
def test_traceback_edge_cases(tail: str, kind: str | None, message: str | None) -> None:
    event = parse(f"2026-11-22 03:46:58,893 - app - ERROR - boom\n{tail}")
    exc = event.attrs.get("exception")
    if kind is None and "Traceback" not in tail:
        assert exc is None
        return
    assert exc is not None
    assert exc.get("type") == kind and exc.get("message") == message
    assert exc["stack"] == tail


def test_java_stack_trace() -> None:
    event = parse(JAVA)
    assert event.logger == "org.apache.hadoop.Foo"
    assert event.attrs["thread"] == "RMCommunicator Allocator"
    exc = event.attrs["exception"]
    assert (exc["type"], exc["message"]) == ("java.lang.IllegalStateException", "bad state")
    assert exc["stack"] == JAVA.split("\n", 1)[1]


def _logged(fmt: str, exc: BaseException | None, message: str = "it failed") -> tuple[str, Any]:
    formatter = logging.Formatter(fmt)
    formatter.converter = time.gmtime
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord("app.jobs", logging.ERROR, __file__, 1, message, None, exc_info)
    return formatter.format(record), record


def _raise_chained(kind: str) -> BaseException:
    table: dict[str, int] = {}
    try:
        try:
            table["missing"]
        except KeyError as first:
            if kind == "context":
                raise ValueError("second\nwith two lines")  # noqa: B904
            if kind == "cause":
                raise RuntimeError("wrapped") from first
            raise ZeroDivisionError("division by zero") from None
    except Exception as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(("kind", "type_", "message"), [
    ("context", "ValueError", "second\nwith two lines"),
    ("cause", "RuntimeError", "wrapped"),
    ("suppressed", "ZeroDivisionError", "division by zero"),
])
@pytest.mark.parametrize("fmt", ["%(asctime)s - %(name)s - %(levelname)s - %(message)s",
                                 "%(levelname)s:%(name)s:%(message)s",
                                 "%(asctime)s %(levelname)s %(name)s: %(message)s"])
def test_real_logging_output(kind: str, type_: str, message: str, fmt: str) -> None:
    text, record = _logged(fmt, _raise_chained(kind))
    event = parse(text)
    assert event.logger == "app.jobs" and event.severity_number == 17
    assert event.message.startswith("it failed\nTraceback (most recent call last):")
    assert event.attrs["exception"]["type"] == type_
    assert event.attrs["exception"]["message"] == message
    if "asctime" in fmt:
        assert event.ts == pytest.approx(int(record.created) + record.msecs / 1000, abs=1e-6)


def test_exception_group_reports_the_group() -> None:
    try:
        raise ExceptionGroup("many", [ValueError("a"), TypeError("b")])
    except Exception as exc:
        group = exc
    text, _ = _logged("%(levelname)s:%(name)s:%(message)s", group)
    exc_attrs = parse(text).attrs["exception"]
    assert exc_attrs["type"] == "ExceptionGroup"
    assert exc_attrs["message"] == "many (2 sub-exceptions)"


@pytest.mark.parametrize("line", [
    "2026-02-30 10:00:00,000 - app - INFO - February 30th",
    "2026-11-22 25:00:00,000 - app - INFO - hour 25",
    "2026-13-01 10:00:00,000 INFO app: month 13",
    "0000-01-01 10:00:00,000 - app - INFO - year zero",
    "2026-11-22T10:00:00+25:00 - app - INFO - offset",
])
def test_impossible_dates_are_bad_fields(line: str) -> None:
    with pytest.raises(ParseError) as info:
        PythonLoggingParser().parse(line, CTX)
    assert info.value.reason is Reason.BAD_FIELD and info.value.parser == "python"


NOT_PYTHON = [
    '{"levelname": "INFO", "message": "x"}',
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 203',
    "<34>Oct 11 22:14:15 mymachine su[123]: ERROR: 'su root' failed",
    "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - INFO: x",
    "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: INFO:x:y",
    "2026-11-22T04:00:00.123+00:00 host app[1]: INFO: rsyslog high-precision",
    "level=info msg=x",
    "ERROR: something went wrong: details",  # not BASIC_FORMAT (space after the colon)
    "ZeroDivisionError: division by zero",
    "2026/11/22 04:00:00 [error] 1#1: nginx",
    "just text",
    "",
]


@pytest.mark.parametrize("line", NOT_PYTHON)
def test_other_formats_are_not_claimed_or_parsed(line: str) -> None:
    parser = PythonLoggingParser()
    assert not parser.matches(line)
    with pytest.raises(ParseError) as info:
        parser.parse(line, CTX)
    assert info.value.reason is Reason.FORMAT_MISMATCH


def test_matches_its_own_layouts() -> None:
    parser = PythonLoggingParser()
    for line in ("WARNING:root:x", TRACEBACK, JAVA, CHAINED,
                 "2015-07-29 17:41:44,747 - INFO  [a:B@1] - x"):
        assert parser.matches(line), line


def test_unknown_zone_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        PythonLoggingParser("Mars/Olympus_Mons")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_an_event_or_a_parse_error(text: str) -> None:
    try:
        event = PythonLoggingParser("America/New_York").parse(text, CTX)
    except ParseError as exc:
        assert exc.reason in (Reason.FORMAT_MISMATCH, Reason.BAD_FIELD)
        return
    event.to_doc()


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]))
def test_asctime_round_trip(moment: datetime, zone: str) -> None:
    # the text cannot tell the two readings of a repeated (fall-back) hour apart: the
    # parser takes the first, as datetime does with fold=0
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, fold=0)
    line = (f"{moment.year:04d}-{moment:%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}"
            " - a - INFO - x")
    expected = moment.replace(tzinfo=ZoneInfo(zone)).timestamp()
    if not -62_135_596_800 <= expected < 253_402_300_800:
        return
    assert parse(line, zone).ts == pytest.approx(expected, abs=1e-6)
