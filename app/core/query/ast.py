"""The parsed query: a small tree of boolean nodes over field conditions."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.query.fields import Field


@dataclass(frozen=True, slots=True)
class Pattern:
    """A value as typed: the literal text, or a wildcard pattern (``*`` any, ``?`` one).

    ``parts`` alternates literal text and wildcard characters: each part is either a
    literal string or exactly ``"*"``/``"?"`` with ``wild`` set at the same index.
    """

    text: str  # the value with escapes removed (wildcard characters kept as typed)
    parts: tuple[tuple[str, bool], ...]  # (literal text | "*" | "?", is_wildcard)
    phrase: bool = False  # typed in double quotes

    @property
    def is_wildcard(self) -> bool:
        return any(wild for _, wild in self.parts)

    @property
    def match_all(self) -> bool:
        return self.parts == (("*", True),)

    def es_wildcard(self) -> str:
        """The pattern in Elasticsearch ``wildcard`` syntax (literal ``*?\\`` escaped)."""
        out = []
        for text, wild in self.parts:
            if wild:
                out.append(text)
            else:
                out.append(text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?"))
        return "".join(out)


@dataclass(frozen=True, slots=True)
class MatchAll:
    pass


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Text:
    """Free text: words (or a quoted phrase) in the message."""

    value: Pattern


@dataclass(frozen=True, slots=True)
class Match:
    """``field:value`` (``value`` already checked against the field's kind)."""

    field: Field
    value: Pattern


@dataclass(frozen=True, slots=True)
class Exists:
    """``field:*``"""

    field: Field


@dataclass(frozen=True, slots=True)
class Range:
    """``field>=value`` and friends; ``value`` is a number, an ISO date or date math."""

    field: Field
    op: str  # gt, gte, lt, lte
    value: float | str


Node = MatchAll | And | Or | Not | Text | Match | Exists | Range
