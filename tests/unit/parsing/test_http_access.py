"""Access-log lines as Apache and nginx write them, oddities included."""

from __future__ import annotations

import pytest

from app.core.errors import ParseError, Reason
from app.core.parsing import RecordContext
from app.core.parsing.http_access import HttpAccessParser
from app.core.timeparse import epoch_from_iso

CTX = RecordContext(event_id="e", observed_ts=0.0, service="web", source_name="web-1")
P = HttpAccessParser()
UA = "Mozilla/5.0 (X11; Linux x86_64)"
BASE = '192.0.2.1 - - [22/Nov/2026:04:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 512'


@pytest.mark.parametrize(("line", "expect"), [
    (BASE, {"method": "GET", "path": "/a?b=1", "status": 200, "bytes": 512,
            "duration_ms": None, "user_agent": None}),
    (BASE + f' "-" "{UA}"', {"referrer": None, "user_agent": UA}),
    (BASE + f' "https://x.test/" "{UA}" 1234', {"referrer": "https://x.test/",
                                               "duration_ms": 1.234}),
    (BASE + f' "-" "{UA}" "203.0.113.5" 0.250', {"duration_ms": 250.0}),
    (BASE + f' "-" "{UA}" rt=0.032 uct="0.001" urt="0.030"', {"duration_ms": 32.0}),
    ('2001:db8::1 - - [22/Nov/2026:04:00:00 +0000] "GET / HTTP/2.0" 304 -',
     {"client_ip": "2001:db8::1", "bytes": 0, "protocol": "HTTP/2.0"}),
    ('10.0.0.1 - - [22/Nov/2026:04:00:00 +0000] "-" 400 0', {"method": None, "path": None}),
    ('10.0.0.1 - - [22/Nov/2026:04:00:00 +0000] "GET /old" 200 10',
     {"method": "GET", "path": "/old", "protocol": None}),
    ('10.0.0.1 - - [22/Nov/2026:04:00:00 +0000] "GET /q?\\"x\\" HTTP/1.1" 200 1 '
     '"-" "agent with \\"quotes\\""', {"path": '/q?"x"', "user_agent": 'agent with "quotes"'}),
])
def test_variants(line: str, expect: dict[str, object]) -> None:
    event = P.parse(line, CTX)
    assert event.http is not None
    for key, value in expect.items():
        assert getattr(event.http, key) == value, key


def test_time_zone_user_and_forwarded_for() -> None:
    line = ('10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 503 - '
            '"-" "-" "203.0.113.9, 10.0.0.2"')
    event = P.parse(line, CTX)
    assert event.ts == epoch_from_iso("2000-10-10T13:55:36-07:00")
    assert event.attrs == {"user": "frank", "forwarded_for": "203.0.113.9, 10.0.0.2"}
    assert (event.severity_text, event.service) == ("ERROR", "web")


@pytest.mark.parametrize(("line", "reason"), [
    ("hello", Reason.FORMAT_MISMATCH),
    (BASE.replace("Nov", "Foo"), Reason.BAD_FIELD),
    (BASE + ' "-" "-" rt=fast', Reason.BAD_FIELD),
    (BASE + " trailing-garbage", Reason.FORMAT_MISMATCH),
])
def test_failures(line: str, reason: Reason) -> None:
    with pytest.raises(ParseError) as info:
        P.parse(line, CTX)
    assert info.value.reason is reason


def test_alias_names_are_reported() -> None:
    assert HttpAccessParser("nginx_main").parse(BASE, CTX).parser == "nginx_main"


# --- the no-backslash regex (_HEAD_PLAIN) against the general one (_HEAD) ---------------

_PIECES = ("192.0.2.1", "2001:db8::1", " ", "  ", "-", "frank", "[", "]",
           "[22/Nov/2026:04:00:00 +0000]", "[10/Oct/2000:13:55:36 -0700]", '"', '""',
           '"GET / HTTP/1.1"', '"GET /a b HTTP/1.1"', '"-"', "200", "404", "9999", "512",
           "0.250", "1234", "rt=0.032", 'uct="0.001"', "\\", '\\"', "\t", "\n", "x",
           '"Mozilla/5.0 (X11)"', '"203.0.113.5, 10.0.0.1"', "é", "=", ".")
_GOOD = '192.0.2.1 - - [22/Nov/2026:04:00:00 +0000] "GET /a HTTP/1.1" 200 512'


def _outcome(parser: HttpAccessParser, line: str) -> object:
    try:
        return parser.parse(line, CTX)
    except ParseError as exc:
        return (exc.reason, str(exc))


def _random_lines(seed: int, count: int) -> list[str]:
    import random
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        parts = [rng.choice(_PIECES) for _ in range(rng.randrange(0, 12))]
        if rng.random() < 0.7:  # mostly well-formed heads, odd tails
            parts.insert(0, _GOOD + rng.choice(("", " ")))
        lines.append("".join(parts))
    return lines


def test_plain_regex_matches_as_the_general_one() -> None:
    from app.core.parsing import http_access
    for line in _random_lines(1, 20_000):
        if "\\" in line:
            continue
        plain, general = http_access._HEAD_PLAIN.match(line), http_access._HEAD.match(line)
        assert (plain is None) == (general is None), line
        if plain is not None and general is not None:
            assert plain.groups() == general.groups(), line


def test_parse_equals_parse_with_the_general_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.parsing import http_access
    lines = _random_lines(2, 5_000)
    fast = [_outcome(HttpAccessParser(), line) for line in lines]
    monkeypatch.setattr(http_access, "_HEAD_PLAIN", http_access._HEAD)
    slow = [_outcome(HttpAccessParser(), line) for line in lines]
    assert fast == slow


def test_status_lookup_equals_int() -> None:
    """The status table (three ASCII digits) against int(): every status, and digits of
    other scripts, which the regex's \\d also matches."""
    from app.core.parsing.http_access import _SEVERITY
    statuses = [f"{status:03d}" for status in range(1000)]
    statuses += ["\u0662\u0660\u0660", "\uff15\uff10\uff13", "\u0664\u0660\u0664"]
    for text in statuses:
        line = f'192.0.2.1 - - [22/Nov/2026:04:00:00 +0000] "GET / HTTP/1.1" {text} 5'
        event = P.parse(line, CTX)
        assert event.http is not None and event.http.status == int(text)
        assert (event.severity_number, event.severity_text) == _SEVERITY[int(text)]


def test_timestamps_of_a_long_lived_parser_equal_a_fresh_parsers() -> None:
    """The inlined one-entry time cache: lines in any order of a few seconds, bad ones
    among them, parsed by one parser and each by a new one."""
    import random
    rng = random.Random(3)
    stamps = ["22/Nov/2026:04:00:00 +0000", "22/Nov/2026:04:00:01 +0000",
              "22/Nov/2026:04:00:00 -0700", "31/Feb/2026:04:00:00 +0000",
              "22/Nov/2026:04:00:00 +00x0", "10/Oct/2000:13:55:36 -0700"]
    kept = HttpAccessParser()
    for _ in range(2_000):
        line = (f'192.0.2.1 - - [{rng.choice(stamps)}] "GET / HTTP/1.1" 200 5')
        assert _outcome(kept, line) == _outcome(HttpAccessParser(), line), line


def test_events_built_slot_by_slot_equal_constructed_ones() -> None:
    """parse() stores each field of HttpInfo and LogEvent itself: every slot is set
    (a missing one would raise here) and the event equals one its constructor builds."""
    import dataclasses

    from app.core.events import LogEvent
    lines = [line for line in _random_lines(4, 3_000)]
    lines += [BASE, BASE + f' "-" "{UA}" "203.0.113.5" 0.250', BASE + ' "r" "-" rt=0.1 "x"']
    built = 0
    for line in lines:
        event = _outcome(P, line)
        if not isinstance(event, LogEvent):
            continue
        built += 1
        assert event.http is not None
        http = dataclasses.replace(event.http)
        assert dataclasses.replace(event, http=http) == event
        assert [getattr(http, f.name) for f in dataclasses.fields(http)] == [
            getattr(event.http, f.name) for f in dataclasses.fields(http)]
    assert built > 100
