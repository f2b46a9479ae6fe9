"""A parsed query -> an Elasticsearch query DSL clause."""

from __future__ import annotations

import math
from typing import Any

from app.core.query.ast import (
    And,
    Exists,
    Match,
    MatchAll,
    Node,
    Not,
    Or,
    Pattern,
    Range,
    Text,
)
from app.core.query.fields import LEVELS, Kind
from app.core.timeparse import epoch_from_iso


def to_es(node: Node) -> dict[str, Any]:
    """The ``query`` clause that selects what ``node`` matches."""
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, And):
        return {"bool": {"must": [to_es(item) for item in node.items]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_es(item) for item in node.items],
                         "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_es(node.item)]}}
    if isinstance(node, Text):
        return _text("message", node.value)
    if isinstance(node, Exists):
        if node.field.kind is Kind.LEVEL:
            return {"match_all": {}}
        return {"exists": {"field": node.field.path}}
    if isinstance(node, Match):
        return _match(node)
    return _range(node)


def _text(path: str, value: Pattern) -> dict[str, Any]:
    if value.phrase:
        return {"match_phrase": {path: value.text}}
    if value.is_wildcard:
        return {"wildcard": {path: {"value": value.es_wildcard().lower(),
                                    "case_insensitive": True}}}
    return {"match": {path: {"query": value.text, "operator": "and"}}}


def _match(node: Match) -> dict[str, Any]:
    field, value = node.field, node.value
    kind, path, text = field.kind, field.path, value.text
    if kind is Kind.TEXT:
        return _text(path, value)
    if kind is Kind.KEYWORD:
        if value.is_wildcard and not value.phrase:
            return {"wildcard": {path: {"value": value.es_wildcard(), "case_insensitive": True}}}
        return {"term": {path: {"value": text, "case_insensitive": True}}}
    if kind is Kind.ANY:
        if value.is_wildcard and not value.phrase:
            return {"wildcard": {path: {"value": value.es_wildcard()}}}
        return {"term": {path: text}}
    if kind is Kind.STATUS and not _is_number(text):
        return {"term": {"http.status_class": text.lower()}}
    if kind is Kind.LEVEL:
        low, high = _level_band(text)
        return {"range": {path: {"gte": low, "lte": high}}}
    if kind is Kind.BOOL:
        return {"term": {path: text.lower() == "true"}}
    if kind in (Kind.NUMBER, Kind.STATUS):
        return {"term": {path: _num(float(text))}}
    return {"term": {path: text}}  # IP: an address or a CIDR network


def _range(node: Range) -> dict[str, Any]:
    field, op, value = node.field, node.op, node.value
    if field.kind is Kind.LEVEL:
        if isinstance(value, str):
            low, high = LEVELS[value]
            bound = low if op in ("gte", "lt") else high
        else:
            bound = int(value)
        return {"range": {field.path: {op: bound}}}
    if field.kind is Kind.DATE and isinstance(value, str):
        if value.startswith("now"):
            return {"range": {field.path: {op: value}}}
        millis = math.floor(epoch_from_iso(value) * 1000)
        return {"range": {field.path: {op: millis, "format": "epoch_millis"}}}
    return {"range": {field.path: {op: _num(value) if isinstance(value, float) else value}}}


def _level_band(text: str) -> tuple[int, int]:
    if text.lower() in LEVELS:
        return LEVELS[text.lower()]
    number = int(text)
    return number, number


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _num(value: float) -> int | float:
    return int(value) if value.is_integer() else value
