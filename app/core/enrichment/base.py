"""The enricher contract and the pipeline that runs enrichers in order.

An enricher completes an event in place with what can be derived from it (DESIGN.md §3).
It raises only ``EnrichmentError`` for a genuine failure; a missing optional field is
not a failure, the enricher simply leaves the event as it is. The pipeline turns any
other exception into an ``EnrichmentError`` naming the enricher, so the agent can send
the event to the dead-letter topic (reason ``enrichment_failed``) instead of crashing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol

from app.core.errors import EnrichmentError
from app.core.events import LogEvent


class Enricher(Protocol):
    """Completes an event in place. Holds no I/O handle and reads no clock."""

    name: str

    def enrich(self, event: LogEvent) -> None: ...


class EnrichmentPipeline:
    """Runs its enrichers in order; a failure of one stops the event there."""

    __slots__ = ("_calls", "_steps", "enrichers")

    def __init__(self, enrichers: Sequence[Enricher]) -> None:
        names = [enricher.name for enricher in enrichers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"enricher configured more than once: {', '.join(duplicates)}")
        self.enrichers: tuple[Enricher, ...] = tuple(enrichers)
        # bound methods resolved once: the loop below runs for every event
        self._steps = tuple((enricher.name, enricher.enrich) for enricher in self.enrichers)
        # one distinct object per step, so that run() finds the failing step by identity
        calls: list[Callable[[LogEvent], None]] = []
        for _, enrich in self._steps:
            calls.append(partial(enrich) if any(enrich is c for c in calls) else enrich)
        self._calls = tuple(calls)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._steps]

    def get(self, name: str) -> Enricher | None:
        """The enricher called ``name``, if the pipeline has one."""
        for enricher in self.enrichers:
            if enricher.name == name:
                return enricher
        return None

    def run(self, event: LogEvent) -> None:
        """Enrich ``event`` in place; raise ``EnrichmentError`` and nothing else."""
        calls = self._calls
        enrich = None
        try:  # one try around the loop: the failing step is found only when one fails
            for enrich in calls:
                enrich(event)
        except EnrichmentError:
            raise
        except Exception as exc:  # an enricher bug must dead-letter one event, not crash
            name = self._steps[next(i for i, c in enumerate(calls) if c is enrich)][0]
            detail = f"{type(exc).__name__}: {exc}"[:500]
            raise EnrichmentError(detail, enricher=name) from exc
