"""``percentage_match``: the share of events matching ``match`` among those passing the
filter, per tumbling window of ``window`` (event time), above or below a bound."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from app.core.alerting.durations import format_duration, positive_duration
from app.core.alerting.filters import EventFilter
from app.core.alerting.types.base import RuleType, State, TypeConfig, Verdict
from app.core.alerting.types.threshold import Op, compare


class PercentageMatchConfig(TypeConfig):
    match: EventFilter
    window: float = Field(300.0)
    op: Op = ">"
    value: float = Field(ge=0, le=100, description="percent")
    min_events: int = Field(10, ge=1, description="windows with fewer events are not judged")

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return positive_duration(value)


class PercentageMatchRule(RuleType):
    name = "percentage_match"
    Config = PercentageMatchConfig

    def extract(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        c = self.config
        assert isinstance(c, PercentageMatchConfig)
        return {"m": c.match.matches(doc)}

    def _close(self, state: State) -> Verdict | None:
        c = self.config
        assert isinstance(c, PercentageMatchConfig)
        start = state.get("s")
        if start is None:
            return None
        total, hits = int(state.get("n", 0)), int(state.get("m", 0))
        state.update(s=None, n=0, m=0)
        end = float(start) + c.window
        pct = 100.0 * hits / total if total else 0.0
        active = total >= c.min_events and compare(c.op, pct, c.value)
        return Verdict(active=active, at=end, value=pct, threshold=c.value,
                       window=(float(start), end),
                       comparison=f"{pct:.1f}% of {total} events match {c.op} {c.value:g}% "
                                  f"over {format_duration(c.window)}")

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, PercentageMatchConfig)
        ts = float(item["ts"])
        start = ts - ts % c.window
        verdict = None
        current = state.get("s")
        if current is not None and start > float(current):
            verdict = self._close(state)
        elif current is not None and start < float(current):
            return None  # late for a window already judged
        state["s"] = start
        state["n"] = int(state.get("n", 0)) + 1
        state["m"] = int(state.get("m", 0)) + (1 if item.get("m") else 0)
        return verdict

    def tick(self, state: State, now: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, PercentageMatchConfig)
        start = state.get("s")
        if start is None or now < float(start) + c.window:
            return None
        return self._close(state)

    def needs_tick(self, state: State) -> bool:
        return state.get("s") is not None

    def describe(self) -> str:
        c = self.config
        assert isinstance(c, PercentageMatchConfig)
        return f"share of matching events {c.op} {c.value:g}% over {format_duration(c.window)}"
