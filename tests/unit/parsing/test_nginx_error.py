"""Nginx error log: real lines, the trailing key/values, oddities, properties."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, Reason
from app.core.parsing.base import RecordContext
from app.core.parsing.nginx_error import NginxErrorParser
from app.core.timeparse import epoch_from_iso

OBSERVED = epoch_from_iso("2026-11-22T04:00:00Z")
CTX = RecordContext(event_id="e1", observed_ts=OBSERVED, service=None, source_name="edge-1")
FULL = ('2026/11/22 04:00:00 [error] 1234#5678: *42 connect() failed (111: Connection refused) '
        'while connecting to upstream, client: 10.0.0.1, server: example.com, request: '
        '"GET /api HTTP/1.1", upstream: "http://127.0.0.1:8080/api", host: "example.com"')


def parse(line: str, tz: str = "UTC") -> Any:
    event = NginxErrorParser(tz).parse(line, CTX)
    event.to_doc()
    assert event.parser == "nginx_error"
    return event


def test_full_line() -> None:
    event = parse(FULL)
    assert event.ts == OBSERVED
    assert (event.severity_number, event.severity_text) == (17, "error")
    assert event.message == ("connect() failed (111: Connection refused) while connecting to "
                             "upstream")
    assert event.http is not None
    assert (event.http.client_ip, event.http.method, event.http.path, event.http.protocol) == (
        "10.0.0.1", "GET", "/api", "HTTP/1.1")
    assert event.attrs == {"pid": 1234, "tid": 5678, "connection_id": 42,
                           "server": "example.com", "upstream": "http://127.0.0.1:8080/api",
                           "host": "example.com"}
    assert event.host is None  # host: is the request's Host header, not the logging machine
    assert event.service == "edge-1"


@pytest.mark.parametrize(("line", "message", "attrs", "http"), [
    ("2026/11/22 04:00:00 [notice] 1#1: signal process started", "signal process started",
     {"pid": 1, "tid": 1}, None),
    ("2026/11/22 04:00:00 [emerg] 1#0: bind() to 0.0.0.0:80 failed (98: Address already in use)",
     "bind() to 0.0.0.0:80 failed (98: Address already in use)", {"pid": 1, "tid": 0}, None),
    ("2026/11/22 04:00:00 [info] 7#7: *9 client 1.2.3.4 closed keepalive connection",
     "client 1.2.3.4 closed keepalive connection", {"pid": 7, "tid": 7, "connection_id": 9},
     None),
    ('2026/11/22 04:00:00 [error] 7#7: *9 open() "/srv/x" failed (2: No such file or directory)'
     ', client: 2001:db8::1, server: _, request: "GET /x?a=1 HTTP/2.0", host: "h", referrer: '
     '"https://r.example/"', 'open() "/srv/x" failed (2: No such file or directory)',
     {"pid": 7, "tid": 7, "connection_id": 9, "server": "_", "host": "h"},
     {"client_ip": "2001:db8::1", "method": "GET", "path": "/x?a=1",
      "referrer": "https://r.example/"}),
    ('2026/11/22 04:00:00 [error] 7#7: *9 open() "/a, client: 6.6.6.6" failed, client: 1.1.1.1, '
     'server: s', 'open() "/a, client: 6.6.6.6" failed', {"pid": 7, "tid": 7,
                                                         "connection_id": 9, "server": "s"},
     {"client_ip": "1.1.1.1"}),
    ('2026/11/22 04:00:00 [error] 7#7: *9 x, client: 1.1.1.1, server: s, request: "\\x16\\x03"',
     "x", {"pid": 7, "tid": 7, "connection_id": 9, "server": "s", "request": "\\x16\\x03"},
     {"client_ip": "1.1.1.1"}),
    ("2026/11/22 04:00:00 [error] 7#7: *9 upstream timed out, client: 1.1.1.1, server: , "
     'request: "POST /slow HTTP/1.1", subrequest: "/auth", upstream: "http://u/auth"',
     "upstream timed out", {"pid": 7, "tid": 7, "connection_id": 9, "server": "",
                            "subrequest": "/auth", "upstream": "http://u/auth"},
     {"client_ip": "1.1.1.1", "method": "POST", "path": "/slow"}),
    ("2026/11/22 04:00:00 [info] 7#7: *9 client 1.1.1.1:5 connected to 0.0.0.0:5000, "
     "client: 1.1.1.1, server: 0.0.0.0:5000, bytes from/to client:10/20",
     "client 1.1.1.1:5 connected to 0.0.0.0:5000",
     {"pid": 7, "tid": 7, "connection_id": 9, "server": "0.0.0.0:5000",
      "bytes_from_to_client": "10/20"}, {"client_ip": "1.1.1.1"}),
    ('2026/11/22 04:00:00 [error] 7#7: *9 broken tail, client: 1.1.1.1, server: "unclosed',
     'broken tail, client: 1.1.1.1, server: "unclosed', {"pid": 7, "tid": 7,
                                                          "connection_id": 9}, None),
])
def test_lines(line: str, message: str, attrs: dict[str, Any],
               http: dict[str, Any] | None) -> None:
    event = parse(line)
    assert event.message == message
    assert event.attrs == attrs
    if http is None:
        assert event.http is None
    else:
        assert event.http is not None
        for key, value in http.items():
            assert getattr(event.http, key) == value, key


@pytest.mark.parametrize(("level", "number"), [
    ("debug", 5), ("info", 9), ("notice", 10), ("warn", 13), ("error", 17), ("crit", 21),
    ("alert", 22), ("emerg", 23),
])
def test_levels(level: str, number: int) -> None:
    event = parse(f"2026/11/22 04:00:00 [{level}] 1#1: x")
    assert (event.severity_number, event.severity_text) == (number, level)


def test_zone_of_the_instance_applies() -> None:
    assert parse("2026/11/22 04:00:00 [error] 1#1: x", "America/New_York").ts == (
        epoch_from_iso("2026-11-22T09:00:00Z"))


@pytest.mark.parametrize("line", [
    "2026/02/30 04:00:00 [error] 1#1: February 30th",
    "2026/11/22 04:61:00 [error] 1#1: minute 61",
    "0000/11/22 04:00:00 [error] 1#1: year zero",
    "2026/11/22 04:00:00 [warning] 1#1: not an nginx level",
])
def test_bad_fields(line: str) -> None:
    with pytest.raises(ParseError) as info:
        NginxErrorParser().parse(line, CTX)
    assert info.value.reason is Reason.BAD_FIELD and info.value.parser == "nginx_error"


NOT_NGINX_ERROR = [
    '{"level":"error"}',
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 203',
    "<34>Oct 11 22:14:15 mymachine su[123]: x",
    "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - x",
    "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass",
    "2026-11-22 04:00:00 [error] 1#1: dashes are not nginx",
    "2026/11/22 04:00:00 [error] no pid",
    "[Sun Dec 04 04:47:44 2005] [error] apache",
    "",
]


@pytest.mark.parametrize("line", NOT_NGINX_ERROR)
def test_other_formats_are_not_claimed_or_parsed(line: str) -> None:
    parser = NginxErrorParser()
    assert not parser.matches(line)
    with pytest.raises(ParseError) as info:
        parser.parse(line, CTX)
    assert info.value.reason is Reason.FORMAT_MISMATCH


def test_matches() -> None:
    assert NginxErrorParser().matches(FULL)


def test_crafted_line_with_many_client_markers_stays_cheap() -> None:
    line = ("2026/11/22 04:00:00 [error] 1#1: " + ", client: 1.1.1.1, server: x" * 5000
            + ', x: "unclosed')
    start = time.process_time()
    event = parse(line)
    assert time.process_time() - start < 1.0
    assert event.http is None  # the tail does not parse: everything stays in the message


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | st.builds(
    lambda tail: "2026/11/22 04:00:00 [error] 1#2: *3 " + tail,
    st.lists(st.sampled_from([*' ,:"\\abc/', "client", "server", "request"]), max_size=40)
    .map("".join)))
def test_arbitrary_text_gives_an_event_or_a_parse_error(text: str) -> None:
    try:
        event = NginxErrorParser("Europe/Paris").parse(text, CTX)
    except ParseError as exc:
        assert exc.reason in (Reason.FORMAT_MISMATCH, Reason.BAD_FIELD)
        return
    event.to_doc()
