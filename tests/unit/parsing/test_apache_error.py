"""Apache error log (2.2 and 2.4): real lines, oddities, severities, properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ParseError, Reason
from app.core.parsing.apache_error import ApacheErrorParser
from app.core.parsing.base import RecordContext
from app.core.timeparse import epoch_from_iso

OBSERVED = epoch_from_iso("2026-11-22T04:00:00Z")
CTX = RecordContext(event_id="e1", observed_ts=OBSERVED, service=None, source_name="web-1")
V24 = ("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] "
       "[client 72.15.99.187:51234] AH00128: File does not exist: "
       "/usr/local/apache2/htdocs/favicon.ico")


def parse(line: str, tz: str = "UTC") -> Any:
    event = ApacheErrorParser(tz).parse(line, CTX)
    event.to_doc()
    assert event.parser == "apache_error"
    return event


def client(event: Any) -> str | None:
    return event.http.client_ip if event.http else None


def test_apache_24_line() -> None:
    event = parse(V24)
    assert event.ts == pytest.approx(epoch_from_iso("2011-09-09T10:42:29.902022Z"), abs=1e-6)
    assert (event.severity_number, event.severity_text) == (17, "error")
    assert event.message == "File does not exist: /usr/local/apache2/htdocs/favicon.ico"
    assert client(event) == "72.15.99.187"
    assert event.attrs == {"module": "core", "pid": 35708, "tid": 4328636416, "code": "AH00128"}
    assert event.service == "web-1"


@pytest.mark.parametrize(("line", "expected"), [
    ("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
     {"ts": "2005-12-04T04:47:44Z", "message": "mod_jk child workerEnv in error state 6",
      "client": None, "attrs": {}}),
    ("[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden by rule: "
     "/var/www/html/", {"client": "1.2.3.4", "message": "Directory index forbidden by rule: "
                        "/var/www/html/"}),
    ("[Thu Jun 09 06:07:04 2005] [notice] LDAP: Built with OpenLDAP LDAP SDK",
     {"severity_number": 10, "severity_text": "notice", "message": "LDAP: Built with OpenLDAP "
      "LDAP SDK"}),
    ("[Sun Dec 04 04:47:44 2005] [error] [client ::1] 2.2 IPv6 has no port",
     {"client": "::1"}),
    ("[Sun Dec 04 04:47:44 2005] [error] [client 2001:db8::1] 2.2 IPv6", {"client": "2001:db8::1"}),
    ("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 1] [client ::1:58619] AH00037: x",
     {"client": "::1", "attrs": {"module": "core", "pid": 1, "code": "AH00037"}}),
    ("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 1] [client 2001:db8::1:443] x",
     {"client": "2001:db8::1"}),
    ("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 1] [client [2001:db8::7]:443] x",
     {"client": "2001:db8::7"}),
    ("[Fri Sep 09 10:42:29.902022 2011] [proxy:error] [pid 12:tid 34] (111)Connection refused: "
     "AH00957: HTTP: attempt to connect to 127.0.0.1:8080 (127.0.0.1) failed",
     {"attrs": {"module": "proxy", "pid": 12, "tid": 34, "os_error": "(111)Connection refused",
                "code": "AH00957"},
      "message": "HTTP: attempt to connect to 127.0.0.1:8080 (127.0.0.1) failed"}),
    ("[Fri Sep 09 10:42:29.902022 2011] [authz_core:debug] [pid 1:tid 2] mod_authz_core.c(809): "
     "[client 10.1.1.1:5000] AH01626: authorization result of Require all granted: granted, "
     "referer: http://example.com/page",
     {"severity_number": 5, "client": "10.1.1.1", "referrer": "http://example.com/page",
      "message": "authorization result of Require all granted: granted",
      "attrs": {"module": "authz_core", "pid": 1, "tid": 2, "source": "mod_authz_core.c(809)",
                "code": "AH01626"}}),
    ("[Fri Sep 09 10:42:29.902022 2011] [:error] [pid 9] [client 1.1.1.1:1] PHP Warning:  x",
     {"message": "PHP Warning:  x", "attrs": {"pid": 9}}),  # empty module name
    ("[Fri Sep 09 10:42:29 2011] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.41 "
     "configured -- resuming normal operations", {"attrs": {"module": "mpm_event", "pid": 1,
                                                          "tid": 1, "code": "AH00489"}}),
    ("[Sun Dec  4 04:47:44 2005] [warn] space-padded day", {"ts": "2005-12-04T04:47:44Z",
                                                           "severity_number": 13}),
    ("[Sun Dec 04 04:47:44 2005] [error] referer: inside, referer: has spaces here",
     {"message": "referer: inside, referer: has spaces here", "referrer": None}),
    ("[Sun Dec 04 04:47:44 2005] [error]", {"message": ""}),
    ("[Sun Dec 04 04:47:44 2005] [error] [client [junk] unbalanced bracket",
     {"client": "[junk", "message": "unbalanced bracket"}),  # found by fuzzing
])
def test_lines(line: str, expected: dict[str, Any]) -> None:
    event = parse(line)
    for key, value in expected.items():
        if key == "ts":
            assert event.ts == pytest.approx(epoch_from_iso(value)), key
        elif key == "client":
            assert client(event) == value
        elif key == "referrer":
            assert (event.http.referrer if event.http else None) == value
        else:
            assert getattr(event, key) == value, key


@pytest.mark.parametrize(("level", "number"), [
    ("emerg", 23), ("alert", 22), ("crit", 21), ("error", 17), ("warn", 13), ("notice", 10),
    ("info", 9), ("debug", 5), ("trace1", 1), ("trace8", 1),
])
def test_levels(level: str, number: int) -> None:
    event = parse(f"[Fri Sep 09 10:42:29.000001 2011] [ssl:{level}] [pid 1] x")
    assert (event.severity_number, event.severity_text) == (number, level)


def test_zone_of_the_instance_applies() -> None:
    line = "[Fri Jul 03 12:00:00 2026] [error] summer"
    assert parse(line, "Europe/Berlin").ts == epoch_from_iso("2026-07-03T10:00:00Z")
    assert parse(line).ts == epoch_from_iso("2026-07-03T12:00:00Z")


@pytest.mark.parametrize("line", [
    "[Mon Feb 30 04:47:44 2026] [error] February 30th",
    "[Mon Foo 01 04:47:44 2026] [error] month Foo",
    "[Mon Jan 01 24:47:44 2026] [error] hour 24",
    "[Mon Jan 01 04:47:44 0000] [error] year zero",
    "[Mon Jan 01 04:47:44 2026] [fatal] not an Apache level",
    "[Mon Jan 01 04:47:44 2026] [trace9] no trace9",
])
def test_bad_fields(line: str) -> None:
    with pytest.raises(ParseError) as info:
        ApacheErrorParser().parse(line, CTX)
    assert info.value.reason is Reason.BAD_FIELD and info.value.parser == "apache_error"


NOT_APACHE_ERROR = [
    '{"level":"error"}',
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 203',
    "<34>Oct 11 22:14:15 mymachine su[123]: [error] x",
    "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - x",
    "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass",
    "[2026-11-22 04:00:00] [error] not the Apache time layout",
    "[Sun Dec 04 04:47:44 2005] [client 1.2.3.4] no level",
    "2026/11/22 04:00:00 [error] 1#1: nginx",
    "at=error msg=x",
    "",
]


@pytest.mark.parametrize("line", NOT_APACHE_ERROR)
def test_other_formats_are_not_claimed_or_parsed(line: str) -> None:
    parser = ApacheErrorParser()
    assert not parser.matches(line)
    with pytest.raises(ParseError) as info:
        parser.parse(line, CTX)
    assert info.value.reason is Reason.FORMAT_MISMATCH


def test_matches_both_versions() -> None:
    assert ApacheErrorParser().matches(V24)
    assert ApacheErrorParser().matches("[Sun Dec 04 04:47:44 2005] [error] x")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | st.builds(
    lambda tail: "[Fri Sep 09 10:42:29.902022 2011] " + tail, st.text(max_size=120)))
def test_arbitrary_text_gives_an_event_or_a_parse_error(text: str) -> None:
    try:
        event = ApacheErrorParser("Asia/Tokyo").parse(text, CTX)
    except ParseError as exc:
        assert exc.reason in (Reason.FORMAT_MISMATCH, Reason.BAD_FIELD)
        return
    event.to_doc()
