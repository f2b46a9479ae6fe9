"""The query language: structure, field kinds, errors with columns."""

from __future__ import annotations

import pytest

from app.core.query import QueryError, compile_es, parse
from app.core.query.ast import And, Exists, Match, MatchAll, Not, Or, Range, Text


def test_issue_example_compiles_to_term_level_band_and_phrase() -> None:
    assert compile_es('service:auth AND level:error "timeout"') == {"bool": {"must": [
        {"term": {"service": {"value": "auth", "case_insensitive": True}}},
        {"range": {"severity_number": {"gte": 17, "lte": 20}}},
        {"match_phrase": {"message": "timeout"}},
    ]}}


def test_empty_query_matches_everything() -> None:
    assert parse("") == MatchAll()
    assert parse("   ") == MatchAll()
    assert compile_es("") == {"match_all": {}}


def test_precedence_not_binds_tighter_than_and_tighter_than_or() -> None:
    node = parse("a OR b c AND NOT d")
    assert isinstance(node, Or)
    left, right = node.items
    assert isinstance(left, Text) and left.value.text == "a"
    assert isinstance(right, And) and len(right.items) == 3
    assert isinstance(right.items[2], Not)


def test_operators_are_case_insensitive_and_parentheses_group() -> None:
    node = parse("(service:a or service:b) and not level:debug")
    assert isinstance(node, And)
    assert isinstance(node.items[0], Or)
    assert isinstance(node.items[1], Not)


def test_field_value_groups() -> None:
    node = parse("service:(auth OR checkout)")
    assert isinstance(node, Or)
    assert [item.value.text for item in node.items if isinstance(item, Match)] == [
        "auth", "checkout"]


@pytest.mark.parametrize(("text", "expected"), [
    ("status>=500", {"range": {"http.status": {"gte": 500}}}),
    ("status >= 500", {"range": {"http.status": {"gte": 500}}}),
    ("status:>=500", {"range": {"http.status": {"gte": 500}}}),
    ("duration<12.5", {"range": {"http.duration_ms": {"lt": 12.5}}}),
    ("level>=warn", {"range": {"severity_number": {"gte": 13}}}),
    ("level>warn", {"range": {"severity_number": {"gt": 16}}}),
    ("level<error", {"range": {"severity_number": {"lt": 17}}}),
    ("level<=info", {"range": {"severity_number": {"lte": 12}}}),
    ("ts>=now-15m", {"range": {"ts": {"gte": "now-15m"}}}),
    ("ts<2024-01-01T00:00:00Z",
     {"range": {"ts": {"lt": 1704067200000, "format": "epoch_millis"}}}),
])
def test_ranges(text: str, expected: dict) -> None:
    assert compile_es(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("status:5xx", {"term": {"http.status_class": "5xx"}}),
    ("status:404", {"term": {"http.status": 404}}),
    ("level:WARNING", {"range": {"severity_number": {"gte": 13, "lte": 16}}}),
    ("is_error:true", {"term": {"is_error": True}}),
    ("ip:10.0.0.0/8", {"term": {"http.client_ip": "10.0.0.0/8"}}),
    ("route:/api/*", {"wildcard": {"http.route": {"value": "/api/*",
                                                   "case_insensitive": True}}}),
    ("host:*", {"exists": {"field": "host"}}),
    ("attrs.user:bob", {"term": {"attrs.user": "bob"}}),
    ("message:timeout", {"match": {"message": {"query": "timeout", "operator": "and"}}}),
    ("time*", {"wildcard": {"message": {"value": "time*", "case_insensitive": True}}}),
    (r"service:a\*b", {"term": {"service": {"value": "a*b", "case_insensitive": True}}}),
    ('service:"a b"', {"term": {"service": {"value": "a b", "case_insensitive": True}}}),
    ('"say \\"hi\\""', {"match_phrase": {"message": 'say "hi"'}}),
])
def test_field_kinds(text: str, expected: dict) -> None:
    assert compile_es(text) == expected


def test_escaped_wildcard_stays_literal_next_to_a_real_one() -> None:
    assert compile_es(r"path:/a\*b*") == {"wildcard": {"http.path": {
        "value": "/a\\*b*", "case_insensitive": True}}}


def test_exists_and_range_nodes() -> None:
    assert isinstance(parse("trace_id:*"), Exists)
    assert isinstance(parse("bytes>0"), Range)


@pytest.mark.parametrize(("text", "message", "column"), [
    ("service:auth AND a )", "unexpected ')'", 20),
    ("(service:auth", "unexpected end of query", 14),
    ("foo:bar", "unknown field 'foo'", 1),
    ("status:abc", "'status' takes a number", 8),
    ("level:loud", "'level' takes trace", 7),
    ('"open', "unterminated quoted phrase", 1),
    ("service:", "unexpected end of query", 9),
    ("a AND", "unexpected end of query", 6),
    ("()", "unexpected ')'", 2),
    ("x = 1", "unexpected '='", 3),
    ("ts:2024-01-01", "compare dates", 4),
    ("ip:10.0.*", "'ip' does not take wildcards", 4),
    ("ip:nope", "'ip' takes an IP address", 4),
    ("status>5*", "a range cannot use wildcards", 8),
    ("is_error:maybe", "'is_error' takes true or false", 10),
    ("a\\", "a backslash must escape", 2),
    ("service:a:b", "unexpected ':'", 10),
])
def test_errors_say_what_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.message.startswith(message), str(caught.value)
    assert caught.value.column == column, str(caught.value)
    assert f"at column {column}" in str(caught.value)


def test_issue_example_error_text() -> None:
    with pytest.raises(QueryError, match=r"^unexpected '\)' at column 14"):
        parse("service:auth )")


def test_deep_nesting_and_long_queries_are_query_errors() -> None:
    with pytest.raises(QueryError, match="nested deeper"):
        parse("(" * 100 + "a" + ")" * 100)
    with pytest.raises(QueryError, match="nested deeper"):
        parse("NOT " * 100 + "a")
    with pytest.raises(QueryError, match="longer than"):
        parse("a " * 5000)
