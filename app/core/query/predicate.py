"""A parsed query -> a predicate over event documents (live tail filtering).

The predicate follows the Elasticsearch translation closely: keywords compare
case-insensitively, message words are lower-cased ``\\w+`` tokens (an approximation of
the standard analyzer), phrases are consecutive tokens, numbers compare as numbers.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
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

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]
_WORD = re.compile(r"\w+")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400,
           "y": 365 * 86400}
_STEP = re.compile(r"([+-])(\d+)([smhdwMy])")


def to_predicate(node: Node, now: float) -> Predicate:
    """``doc -> bool``; ``now`` (epoch seconds) resolves ``now-15m`` style date math."""
    if isinstance(node, MatchAll):
        return lambda doc: True
    if isinstance(node, And):
        parts = [to_predicate(item, now) for item in node.items]
        return lambda doc: all(p(doc) for p in parts)
    if isinstance(node, Or):
        parts = [to_predicate(item, now) for item in node.items]
        return lambda doc: any(p(doc) for p in parts)
    if isinstance(node, Not):
        inner = to_predicate(node.item, now)
        return lambda doc: not inner(doc)
    if isinstance(node, Text):
        return _text("message", node.value)
    if isinstance(node, Exists):
        path = node.field.path
        return lambda doc: lookup(doc, path) is not None
    if isinstance(node, Match):
        return _match(node)
    return _range(node, now)


def lookup(doc: Doc, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def wildcard_regex(pattern: Pattern) -> re.Pattern[str]:
    body = "".join((".*" if text == "*" else ".") if wild else re.escape(text)
                   for text, wild in pattern.parts)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _text(path: str, value: Pattern) -> Predicate:
    if value.is_wildcard and not value.phrase:
        regex = wildcard_regex(value)
        return lambda doc: any(regex.fullmatch(t) for t in tokens(_str(lookup(doc, path))))
    wanted = tokens(value.text)
    if not wanted:
        return lambda doc: False
    if value.phrase:
        size = len(wanted)

        def phrase(doc: Doc) -> bool:
            have = tokens(_str(lookup(doc, path)))
            return any(have[i:i + size] == wanted for i in range(len(have) - size + 1))
        return phrase
    needed = set(wanted)
    return lambda doc: needed <= set(tokens(_str(lookup(doc, path))))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _match(node: Match) -> Predicate:
    field, value = node.field, node.value
    kind, path, text = field.kind, field.path, value.text
    if kind is Kind.TEXT:
        return _text(path, value)
    if kind in (Kind.KEYWORD, Kind.ANY):
        if value.is_wildcard and not value.phrase:
            regex = wildcard_regex(value)
            return lambda doc: _scalar(lookup(doc, path), lambda v: bool(regex.fullmatch(v)))
        folded = text.casefold() if kind is Kind.KEYWORD else text
        number = _to_float(text) if kind is Kind.ANY else None

        def equal(v: str) -> bool:
            return (v.casefold() if kind is Kind.KEYWORD else v) == folded

        def any_equal(doc: Doc) -> bool:
            found = lookup(doc, path)
            if number is not None and isinstance(found, int | float) \
                    and not isinstance(found, bool):
                return float(found) == number
            return _scalar(found, equal)
        return any_equal
    if kind is Kind.STATUS and _to_float(text) is None:
        status_class = text.lower()
        return lambda doc: _str(lookup(doc, "http.status_class")).lower() == status_class
    if kind is Kind.LEVEL:
        low, high = LEVELS.get(text.lower()) or (int(text), int(text))
        return lambda doc: low <= _num(lookup(doc, path), -1.0) <= high
    if kind is Kind.BOOL:
        truth = text.lower() == "true"
        return lambda doc: lookup(doc, path) is truth
    if kind in (Kind.NUMBER, Kind.STATUS):
        target = float(text)
        return lambda doc: _num(lookup(doc, path), math.nan) == target
    network = ipaddress.ip_network(text, strict=False)

    def in_network(doc: Doc) -> bool:
        try:
            return ipaddress.ip_address(_str(lookup(doc, path))) in network
        except ValueError:
            return False
    return in_network


def _scalar(value: Any, test: Callable[[str], bool]) -> bool:
    if value is None or isinstance(value, dict):
        return False
    if isinstance(value, list):
        return any(_scalar(v, test) for v in value)
    if isinstance(value, bool):
        return test("true" if value else "false")
    return test(str(value))


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _num(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            parsed = _to_float(value)
            return default if parsed is None else parsed
        return default
    return float(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}


def _range(node: Range, now: float) -> Predicate:
    field, value = node.field, node.value
    compare, path = _COMPARE[node.op], field.path
    if field.kind is Kind.LEVEL:
        if isinstance(value, str):
            low, high = LEVELS[value]
            bound = float(low if node.op in ("gte", "lt") else high)
        else:
            bound = value
        return lambda doc: compare(_num(lookup(doc, path), -1.0), bound)
    if field.kind is Kind.DATE:
        limit = date_value(str(value), now)

        def when(doc: Doc) -> bool:
            try:
                return compare(epoch_from_iso(_str(lookup(doc, path))), limit)
            except (ValueError, OverflowError):
                return False
        return when
    if isinstance(value, float):
        number = value
        return lambda doc: compare(_num(lookup(doc, path), math.nan), number)
    text = value

    def textual(doc: Doc) -> bool:
        found = lookup(doc, path)
        return found is not None and not isinstance(found, dict | list) \
            and compare(_str(found), text)
    return textual


def date_value(text: str, now: float) -> float:
    """Epoch seconds of an ISO time or ``now[+-N unit]...[/unit]`` relative to ``now``."""
    if not text.startswith("now"):
        return epoch_from_iso(text)
    rest, rounding = text[3:], None
    if "/" in rest:
        rest, rounding = rest.split("/", 1)
    moment = now
    for sign, count, unit in _STEP.findall(rest):
        step = int(count) * _UNIT_S[unit]
        moment += step if sign == "+" else -step
    if rounding:
        size = _UNIT_S[rounding]
        moment -= moment % size
    return moment
