"""EnrichmentPipeline names the enricher that failed, whichever way its steps are built.

``run`` wraps all steps in one ``try`` and finds the failing step afterwards, by the
line that raised: steps whose ``enrich`` is the very same callable must still be told
apart.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.core.enrichment.base import EnrichmentPipeline
from app.core.errors import EnrichmentError, Reason
from app.core.events import LogEvent


class Step:
    def __init__(self, name: str, enrich: Callable[[LogEvent], None]) -> None:
        self.name, self.enrich = name, enrich


def event() -> LogEvent:
    return LogEvent(event_id="e1", ts=0.0, observed_ts=0.0, service="s", message="m")


def noop(event: LogEvent) -> None:
    return None


def fails_once_marked(event: LogEvent) -> None:
    if event.attrs.get("fail"):
        raise ValueError("marked")
    event.attrs["fail"] = True  # the next step sharing this callable fails


@pytest.mark.parametrize(("steps", "failing"), [
    ([("a", noop), ("b", noop), ("c", fails_once_marked), ("d", fails_once_marked)], "d"),
    ([("a", fails_once_marked), ("b", noop), ("c", fails_once_marked)], "c"),
])
def test_the_failing_step_is_named_when_steps_share_a_callable(
        steps: list[tuple[str, Callable[[LogEvent], None]]], failing: str) -> None:
    pipeline = EnrichmentPipeline([Step(name, fn) for name, fn in steps])
    with pytest.raises(EnrichmentError) as info:
        pipeline.run(event())
    assert info.value.enricher == failing
    assert info.value.reason is Reason.ENRICHMENT_FAILED
    assert "ValueError: marked" in str(info.value)


def test_steps_after_the_failing_one_do_not_run() -> None:
    ran: list[str] = []

    def record(name: str) -> Callable[[LogEvent], None]:
        return lambda _event: ran.append(name)

    def boom(_event: LogEvent) -> None:
        raise KeyError("x")

    pipeline = EnrichmentPipeline([Step("a", record("a")), Step("b", boom),
                                   Step("c", record("c"))])
    with pytest.raises(EnrichmentError) as info:
        pipeline.run(event())
    assert info.value.enricher == "b" and ran == ["a"]
