"""The same query as a predicate over event documents (the live tail's filter)."""

from __future__ import annotations

import pytest

from app.core.query import compile_predicate
from app.core.query.predicate import date_value

NOW = 1_700_000_000.0
AUTH_ERROR = {"service": "auth", "severity_number": 17, "severity_text": "ERROR",
              "message": "upstream Timeout after 30s <script>x</script>",
              "ts": "2023-11-14T22:10:00.000Z", "is_error": True,
              "http": {"status": 503, "status_class": "5xx", "route": "/api/login",
                       "method": "POST", "client_ip": "10.1.2.3", "duration_ms": 812.5},
              "attrs": {"user": "bob", "attempt": 3}}
CHECKOUT_INFO = {"service": "checkout", "severity_number": 9, "message": "order placed",
                 "ts": "2023-11-14T20:00:00.000Z", "is_error": False}


@pytest.mark.parametrize(("query", "auth", "checkout"), [
    ("", True, True),
    ('service:auth AND level:error "timeout"', True, False),
    ("service:AUTH", True, False),
    ("level:error", True, False),
    ("level>=info", True, True),
    ("level<warn", False, True),
    ("timeout", True, False),
    ("TIME*", True, False),
    ('"timeout after"', True, False),
    ('"after timeout"', False, False),
    ("upstream 30s", True, False),
    ("message:order", False, True),
    ("status>=500", True, False),
    ("status:5xx", True, False),
    ("status:503", True, False),
    ("route:/api/*", True, False),
    ("method:post", True, False),
    ("ip:10.0.0.0/8", True, False),
    ("ip:10.1.2.3", True, False),
    ("duration>800", True, False),
    ("attrs.user:bob", True, False),
    ("attrs.attempt:3", True, False),
    ("attrs.attempt>2", True, False),
    ("http.route:*", True, False),
    ("NOT service:auth", False, True),
    ("service:(auth OR checkout)", True, True),
    ("service:auth OR order", True, True),
    ("is_error:false", False, True),
    ("ts>=now-15m", True, False),
    ("ts<2023-11-14T21:00:00Z", False, True),
    ("script", True, False),
])
def test_predicate(query: str, auth: bool, checkout: bool) -> None:
    matches = compile_predicate(query, NOW)
    assert (matches(AUTH_ERROR), matches(CHECKOUT_INFO)) == (auth, checkout)


def test_missing_and_odd_values_do_not_match_or_raise() -> None:
    odd = {"service": None, "http": "not a dict", "message": 42, "severity_number": "x",
           "attrs": {"user": ["bob", "eve"]}}
    for query in ("service:auth", "status>=500", "ip:10.0.0.0/8", "level:error", "43",
                  "ts>=now-1h", "route:*", "bytes<3"):
        assert compile_predicate(query, NOW)(odd) is False
    assert compile_predicate("attrs.user:eve", NOW)(odd) is True


def test_date_math() -> None:
    assert date_value("now", NOW) == NOW
    assert date_value("now-15m", NOW) == NOW - 900
    assert date_value("now-1d+2h", NOW) == NOW - 86400 + 7200
    assert date_value("now/d", NOW) == NOW - NOW % 86400
