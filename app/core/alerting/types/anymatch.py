"""``any``: every matching event (severity >= FATAL, a message pattern) raises the alert.

The alert stays active while matches keep coming and clears ``quiet`` after the last
one. Because one noisy pattern can match thousands of times, new alerts of one rule
are rate-capped: at most ``max_alerts`` start per ``per`` in one notification group
(the rest are counted and named in the next notification, not lost silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from app.core.alerting.durations import format_duration, positive_duration
from app.core.alerting.types.base import RuleType, State, TypeConfig, Verdict


class AnyConfig(TypeConfig):
    quiet: float = Field(300.0, description="clear this long after the last match")
    max_alerts: int = Field(10, ge=1, description="new alerts per `per` (rate cap)")
    per: float = Field(600.0)

    @field_validator("quiet", "per", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return positive_duration(value)


class AnyRule(RuleType):
    name = "any"
    Config = AnyConfig

    @property
    def rate_cap(self) -> tuple[int, float]:
        c = self.config
        assert isinstance(c, AnyConfig)
        return c.max_alerts, c.per

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        ts = float(item["ts"])
        last = float(state.get("last", ts))
        state["last"] = max(last, ts)
        state["n"] = int(state.get("n", 0)) + 1
        return Verdict(active=True, at=at, value=float(state["n"]), threshold=1.0,
                       comparison=f"{state['n']} matching event(s)")

    def tick(self, state: State, now: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, AnyConfig)
        last = state.get("last")
        if last is None or now - float(last) < c.quiet:
            return None
        state.clear()
        return Verdict(active=False, at=now, comparison=f"no match for {format_duration(c.quiet)}")

    def needs_tick(self, state: State) -> bool:
        return state.get("last") is not None

    def describe(self) -> str:
        return "any matching event"
