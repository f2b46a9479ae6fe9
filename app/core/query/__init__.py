"""The search language (KQL-like): text -> checked tree -> Elasticsearch DSL or predicate.

``compile_es("service:auth AND level:error \\"timeout\\"")`` gives the query clause;
``compile_predicate(text, now)`` a ``doc -> bool`` for the live tail. Both raise
``QueryError`` (with the column) and nothing else for a query they cannot accept.
"""

from __future__ import annotations

from typing import Any

from app.core.query.errors import QueryError
from app.core.query.parser import parse
from app.core.query.predicate import Predicate, to_predicate
from app.core.query.to_es import to_es


def compile_es(text: str) -> dict[str, Any]:
    return to_es(parse(text))


def compile_predicate(text: str, now: float) -> Predicate:
    return to_predicate(parse(text), now)


__all__ = ["Predicate", "QueryError", "compile_es", "compile_predicate", "parse"]
