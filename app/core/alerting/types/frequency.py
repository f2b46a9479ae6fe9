"""``frequency``: at least ``count`` matching events within ``within`` per group
(failed logins per client IP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from app.core.alerting.durations import format_duration, positive_duration
from app.core.alerting.types.base import RuleType, State, TypeConfig, Verdict

MAX_KEPT = 5000


class FrequencyConfig(TypeConfig):
    count: int = Field(ge=1, description="events that make an alert")
    within: float = Field(description="time span (event time) they must fall in")

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return positive_duration(value)


class FrequencyRule(RuleType):
    name = "frequency"
    Config = FrequencyConfig

    def _verdict(self, state: State, now: float) -> Verdict:
        c = self.config
        assert isinstance(c, FrequencyConfig)
        horizon = now - c.within
        times = [t for t in state.get("t", []) if t > horizon]
        state["t"] = times
        return Verdict(active=len(times) >= c.count, at=now, value=float(len(times)),
                       threshold=float(c.count), window=(horizon, now),
                       comparison=f"{len(times)} events in {format_duration(c.within)} "
                                  f"(alert at {c.count})")

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        ids: list[str] = state.setdefault("ids", [])
        event_id = str(item.get("id") or "")
        if event_id and event_id in ids:
            return None  # the same event again (a replay)
        if event_id:
            ids.append(event_id)
            del ids[:-64]
        times: list[float] = state.setdefault("t", [])
        times.append(float(item["ts"]))
        times.sort()
        del times[:-MAX_KEPT]
        now = max(at, float(state.get("now", at)))
        state["now"] = now
        return self._verdict(state, now)

    def tick(self, state: State, now: float) -> Verdict | None:
        if not state.get("t"):
            return None
        state["now"] = max(now, float(state.get("now", now)))
        return self._verdict(state, state["now"])

    def needs_tick(self, state: State) -> bool:
        return bool(state.get("t"))

    def describe(self) -> str:
        c = self.config
        assert isinstance(c, FrequencyConfig)
        return f"at least {c.count} events within {format_duration(c.within)}"
