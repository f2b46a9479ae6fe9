"""The enricher contract and the pipeline that runs enrichers in order.

An enricher completes an event in place with what can be derived from it (DESIGN.md §3).
It raises only ``EnrichmentError`` for a genuine failure; a missing optional field is
not a failure, the enricher simply leaves the event as it is. The pipeline turns any
other exception into an ``EnrichmentError`` naming the enricher, so the agent can send
the event to the dead-letter topic (reason ``enrichment_failed``) instead of crashing.

An enricher may declare ``runs_if``: a Python expression over ``event`` and ``self``
(the enricher; builtins too, nothing else) that is false only for events ``enrich``
leaves exactly as they are, without raising: the negation of its first early return.
The pipeline evaluates it in place of the call; most enrichers have nothing to do for
most events (no user agent, no address), and the call is what costs then.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from app.core.errors import EnrichmentError
from app.core.events import LogEvent

_K = TypeVar("_K")
_V = TypeVar("_V")


class Enricher(Protocol):
    """Completes an event in place. Holds no I/O handle and reads no clock.

    Optional: ``runs_if`` (see the module docstring)."""

    name: str

    def enrich(self, event: LogEvent) -> None: ...


class EnrichmentPipeline:
    """Runs its enrichers in order; a failure of one stops the event there.

    ``run`` is a function compiled for the enrichers: one line per enricher, its
    ``runs_if`` and the call of its ``enrich`` (resolved once), all in one ``try``; the
    failing enricher is found only when one fails, by the line that raised.
    """

    __slots__ = ("_names", "enrichers", "run")

    def __init__(self, enrichers: Sequence[Enricher]) -> None:
        names = [enricher.name for enricher in enrichers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"enricher configured more than once: {', '.join(duplicates)}")
        self.enrichers: tuple[Enricher, ...] = tuple(enrichers)
        self._names = tuple(names)
        #: ``run(event)``: enrich ``event`` in place; raise ``EnrichmentError`` and
        #: nothing else
        self.run: Callable[[LogEvent], None] = _compile(self.enrichers)

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def get(self, name: str) -> Enricher | None:
        """The enricher called ``name``, if the pipeline has one."""
        for enricher in self.enrichers:
            if enricher.name == name:
                return enricher
        return None


def remember(cache: dict[_K, _V], key: _K, value: _V, limit: int) -> _V:
    """``cache[key] = value``, emptying ``cache`` first when it holds ``limit`` entries:
    the miss of a plain-dict cache (its hit is one inline lookup, cheaper than an
    ``lru_cache`` call); returns ``value``."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


def _compile(enrichers: tuple[Enricher, ...]) -> Callable[[LogEvent], None]:
    """``run`` for ``enrichers`` (see ``EnrichmentPipeline``)."""
    names: dict[int, str] = {}  # line of the source -> the enricher called on it
    code = ["def run(event):", "    try:"]
    namespace: dict[str, object] = {"_EnrichmentError": EnrichmentError}
    for index, enricher in enumerate(enrichers):
        namespace[f"_enrich{index}"] = enricher.enrich
        line = f"_enrich{index}(event)"
        condition = getattr(enricher, "runs_if", None)
        if condition is not None:
            namespace[f"_self{index}"] = enricher
            line = f"if {_bind_self(condition, f'_self{index}', enricher.name)}: {line}"
        names[len(code) + 1] = enricher.name
        code.append(f"        {line}")
    code += ["        pass",
             "    except _EnrichmentError:",
             "        raise",
             "    except Exception as exc:  # an enricher bug dead-letters one event",
             "        raise _failed(exc) from exc"]

    def failed(exc: Exception) -> EnrichmentError:
        # the traceback starts in run's frame, at the line that raised
        traceback = exc.__traceback__
        name = names.get(traceback.tb_lineno, "?") if traceback is not None else "?"
        return EnrichmentError(f"{type(exc).__name__}: {exc}"[:500], enricher=name)

    namespace["_failed"] = failed
    exec(compile("\n".join(code) + "\n", "<enrichment pipeline>", "exec"),  # noqa: S102
         namespace)
    run: Callable[[LogEvent], None] = namespace["run"]  # type: ignore[assignment]
    return run


def _bind_self(condition: str, name: str, enricher: str) -> str:
    """``condition`` with ``self`` renamed ``name``, in parentheses; ValueError when it
    is not an expression over ``event``, ``self`` and builtins."""
    try:
        tree = ast.parse(condition, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"enricher {enricher!r}: runs_if is not an expression: "
                         f"{condition!r}") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.NamedExpr | ast.Lambda):
            raise ValueError(f"enricher {enricher!r}: runs_if may not bind names")
        if isinstance(node, ast.Name):
            if node.id == "self":
                node.id = name
            elif node.id != "event" and not hasattr(builtins, node.id):
                raise ValueError(f"enricher {enricher!r}: runs_if may name event, self "
                                 f"and builtins, not {node.id!r}")
    return f"({ast.unparse(tree)})"
