"""Property tests: the parser raises nothing but ``QueryError``, whatever it is given."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.query import QueryError, compile_es, compile_predicate, parse

NOW = 1_700_000_000.0
PIECES = st.sampled_from([
    "service", "level", "status", "ts", "ip", "attrs.x", "route", "message", "duration",
    "foo", ":", ">=", "<", ">", "=", "(", ")", '"', "\\", "*", "?", "AND", "OR", "NOT",
    "and", "error", "5xx", "500", "now-15m", "2024-01-01", "10.0.0.0/8", "true", " ",
    "timeout", "a*b", "-1e999", "nan", "inf", "é", "\x00", "\n",
])
EVENTS = st.fixed_dictionaries({}, optional={
    "service": st.one_of(st.none(), st.text(max_size=5), st.integers()),
    "message": st.one_of(st.none(), st.text(max_size=20), st.integers()),
    "severity_number": st.one_of(st.none(), st.integers(-5, 30), st.text(max_size=3)),
    "ts": st.one_of(st.none(), st.text(max_size=25), st.just("2023-11-14T22:10:00.000Z")),
    "http": st.one_of(st.none(), st.text(max_size=3), st.fixed_dictionaries({}, optional={
        "status": st.one_of(st.integers(0, 999), st.text(max_size=3)),
        "client_ip": st.one_of(st.text(max_size=8), st.just("10.0.0.1")),
        "route": st.one_of(st.none(), st.text(max_size=8), st.lists(st.text(max_size=3)))})),
    "attrs": st.dictionaries(st.sampled_from(["x", "y"]),
                             st.one_of(st.integers(), st.text(max_size=4), st.booleans(),
                                       st.lists(st.integers(), max_size=2))),
})


def _check(text: str) -> None:
    try:
        parse(text)
    except QueryError as exc:
        assert exc.column >= 0
        assert str(exc)
        return
    compile_es(text)  # whatever parses also compiles


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_only_raises_query_error(text: str) -> None:
    _check(text)


@settings(max_examples=600, deadline=None)
@given(st.lists(PIECES, max_size=14).map("".join))
def test_query_shaped_text_only_raises_query_error(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=10).map("".join), EVENTS)
def test_predicates_never_raise_on_any_event(text: str, event: dict) -> None:
    try:
        matches = compile_predicate(text, NOW)
    except QueryError:
        return
    assert matches(event) in (True, False)
