"""``new_term``: a value of ``fields`` not seen in the last ``lookback`` (a new error
message, a new user agent, a new country).

The term's fields belong to the alert's fingerprint, so each term has its own state:
when it was first and last seen. Terms seen during the first ``warm_up`` of a group are
learned without alerting. A new term's alert clears ``active_for`` after it appeared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from app.core.alerting.durations import format_duration, parse_duration
from app.core.alerting.filters import field_value
from app.core.alerting.types.base import RuleType, State, TypeConfig, Verdict


class NewTermConfig(TypeConfig):
    fields: list[str] = Field(min_length=1, description="event field paths forming the term")
    lookback: float = Field(7 * 86400.0, description="a term unseen this long is new again")
    warm_up: float = Field(600.0, description="learn silently this long first")
    active_for: float = Field(300.0, description="the alert clears this long after")

    @field_validator("fields", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("lookback", "warm_up", "active_for", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class NewTermRule(RuleType):
    name = "new_term"
    Config = NewTermConfig

    def extra_labels(self) -> tuple[str, ...]:
        c = self.config
        assert isinstance(c, NewTermConfig)
        return tuple(c.fields)

    def extract(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        c = self.config
        assert isinstance(c, NewTermConfig)
        return {"term": [field_value(doc, path) for path in c.fields]}

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, NewTermConfig)
        if all(v is None for v in item.get("term") or [None]):
            return None  # the event has none of the term's fields
        ts = float(item["ts"])
        last = state.get("last")
        since = float(state.get("since", ts))
        if last is None or ts - float(last) > c.lookback:
            state["first"] = ts
            state["new"] = ts if ts >= since + c.warm_up else None
        state["last"] = max(ts, float(last or ts))
        novel = state.get("new")
        if novel is None or ts - float(novel) >= c.active_for:
            return Verdict(active=False, at=at, value=0.0, comparison="known term")
        return Verdict(active=True, at=at, value=1.0,
                       comparison=f"term {item.get('term')} first seen at {float(novel):.0f}")

    def tick(self, state: State, now: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, NewTermConfig)
        novel = state.get("new")
        if novel is None or now - float(novel) < c.active_for:
            return None
        state["new"] = None
        return Verdict(active=False, at=now, comparison="no longer new")

    def needs_tick(self, state: State) -> bool:
        return state.get("new") is not None

    def describe(self) -> str:
        c = self.config
        assert isinstance(c, NewTermConfig)
        return (f"a value of {', '.join(c.fields)} not seen in the last "
                f"{format_duration(c.lookback)}")
