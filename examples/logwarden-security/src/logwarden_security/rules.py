"""Distinct values of a field per group within a time frame.

ElastAlert calls it *cardinality*. Password spraying is one instance: distinct
``attrs.user`` per ``attrs.source_ip`` among failed logins, across at least two
services. Two faces of one computation:

* ``DistinctCountRule``, the rule type ``distinct_count`` of alert rule files (entry
  point ``logwarden.rule_types``; a subclass of ``app.plugins.contracts.RuleType``, the
  alert engine's base class). The rule's ``filter`` and ``group_by`` are the common
  fields of every rule; the type adds ``field``, ``threshold``, ``timeframe``,
  ``across`` and ``min_across``::

      name: password-spraying
      type: distinct_count
      filter: {fields: {attrs.auth_result: [failure, invalid_user]}}
      group_by: [attrs.source_ip]
      field: attrs.user
      threshold: 10          # fires at 10 distinct users
      timeframe: 5m
      across: service        # ... seen on at least min_across distinct services
      min_across: 2

* ``DistinctCounter``, the same count as a standalone detector (``group_key``, ``fold``,
  ``check``), which the plugin's own ``security`` agent runs.

Pure: the state is a JSON-able dict passed in and out, time is the events' own time
(``ts``), and nothing reads a clock, so a replay folds to the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.plugins.contracts import (
    Observation,
    RuleConfig,
    RuleType,
    State,
    Verdict,
    format_duration,
    positive_duration,
)
from logwarden_security.options import validated

MAX_VALUES = 1000  # distinct values kept per group (the most recent): bounded state


def lookup(doc: Mapping[str, Any], dotted: str) -> Any:
    """``doc["attrs"]["user"]`` for ``"attrs.user"``; None when any step is missing."""
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def event_time(doc: Mapping[str, Any]) -> float | None:
    """The event's ``ts`` (ISO 8601 or epoch seconds) as epoch seconds."""
    ts = doc.get("ts")
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        return float(ts)
    if isinstance(ts, str):
        try:
            return datetime.fromisoformat(ts).timestamp()
        except ValueError:
            return None
    return None


class DistinctCountConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1, description="dotted path of the counted value")
    group_by: str = Field(min_length=1, description="dotted path of the group key")
    threshold: int = Field(ge=2, description="fires at this many distinct values")
    timeframe_s: float = Field(gt=0, le=7 * 86400)
    where: dict[str, list[str | int | bool]] = Field(
        default_factory=dict, description="dotted path -> accepted values (all must match)")
    across: str | None = Field(None, description="a second field that must also vary")
    min_across: int = Field(1, ge=1)


def remember(seen: Mapping[str, float], value: Any, ts: float, horizon: float) -> dict[str, float]:
    """``seen`` (value -> latest time) with ``value`` at ``ts``, older than ``horizon``
    dropped, at most ``MAX_VALUES`` (the most recent) kept."""
    kept = {v: t for v, t in seen.items() if t > horizon}
    if value is not None:
        kept[str(value)] = max(ts, kept.get(str(value), ts))
    if len(kept) > MAX_VALUES:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-MAX_VALUES:])
    return kept


def within(seen: Mapping[str, float], horizon: float) -> list[str]:
    return sorted(v for v, t in seen.items() if t > horizon)


class DistinctCounter:
    """The count as a standalone detector (the ``security`` agent runs it)."""

    name: ClassVar[str] = "distinct_count"
    Config: ClassVar[type[BaseModel]] = DistinctCountConfig

    def __init__(self, config: DistinctCountConfig) -> None:
        self.config = config

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> DistinctCounter:
        return cls(validated(DistinctCountConfig, options, prefix=f"{cls.name}: "))

    def group_key(self, event: Mapping[str, Any]) -> str | None:
        c = self.config
        for path, accepted in c.where.items():
            if lookup(event, path) not in accepted:
                return None
        key, value = lookup(event, c.group_by), lookup(event, c.field)
        if key in (None, "") or value in (None, "") or event_time(event) is None:
            return None
        return str(key)

    def fold(self, state: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        """Add the event's value; forget values older than the time frame."""
        c = self.config
        ts = event_time(event)
        value = lookup(event, c.field)
        if ts is None or value is None:
            return dict(state) if state else _empty(None)
        old = state or _empty(self.group_key(event))
        latest = max(ts, old["latest"] if old["latest"] is not None else ts)
        horizon = latest - c.timeframe_s
        values = remember(old["values"], value, ts, horizon)
        other = lookup(event, c.across) if c.across is not None else None
        across = remember(old["across"], other, ts, horizon)
        key = old["key"] if old["key"] is not None else self.group_key(event)
        return {"key": key, "latest": latest, "values": values, "across": across}

    def check(self, state: Any, now: float) -> Observation | None:
        c = self.config
        if not state:
            return None
        horizon = now - c.timeframe_s
        values, across = within(state["values"], horizon), within(state["across"], horizon)
        if len(values) < c.threshold:
            return None
        if c.across is not None and len(across) < c.min_across:
            return None
        group = str(state["key"])
        summary = (f"{len(values)} distinct {c.field} for {c.group_by}={group} within "
                   f"{c.timeframe_s:g}s")
        if c.across is not None:
            summary += f" across {len(across)} {c.across} values"
        return Observation(value=float(len(values)), threshold=float(c.threshold),
                           labels={c.group_by: group}, summary=summary,
                           evidence={"values": values[:20], c.across or "across": across[:20]})


def _empty(key: str | None) -> dict[str, Any]:
    return {"key": key, "latest": None, "values": {}, "across": {}}


class DistinctCountRuleConfig(RuleConfig):
    field: str = Field(min_length=1, description="dotted path of the counted value")
    threshold: int = Field(ge=2, description="fires at this many distinct values")
    timeframe: float = Field(description="time span (event time) the values must fall in")
    across: str | None = Field(None, description="a second field that must also vary")
    min_across: int = Field(1, ge=1)

    @field_validator("timeframe", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return positive_duration(value)


class DistinctCountRule(RuleType):
    """The rule type ``distinct_count``: at least ``threshold`` distinct values of
    ``field`` per group within ``timeframe`` (and ``min_across`` values of ``across``)."""

    name = "distinct_count"
    Config = DistinctCountRuleConfig

    @property
    def options(self) -> DistinctCountRuleConfig:
        assert isinstance(self.config, DistinctCountRuleConfig)
        return self.config

    def extract(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        c = self.options
        return {"dc_v": lookup(doc, c.field),
                "dc_x": lookup(doc, c.across) if c.across is not None else None}

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        if item.get("dc_v") in (None, ""):
            return None
        now = max(at, float(state.get("now", at)))
        horizon = now - self.options.timeframe
        state["now"] = now
        state["values"] = remember(state.get("values", {}), item["dc_v"], float(item["ts"]),
                                   horizon)
        state["across"] = remember(state.get("across", {}), item.get("dc_x"),
                                   float(item["ts"]), horizon)
        return self._verdict(state, now)

    def tick(self, state: State, now: float) -> Verdict | None:
        if not state.get("values"):
            return None
        state["now"] = max(now, float(state.get("now", now)))
        return self._verdict(state, state["now"])

    def needs_tick(self, state: State) -> bool:
        return bool(state.get("values"))

    def _verdict(self, state: State, now: float) -> Verdict:
        c = self.options
        horizon = now - c.timeframe
        values, across = within(state["values"], horizon), within(state["across"], horizon)
        state["values"] = {v: state["values"][v] for v in values}
        state["across"] = {v: state["across"][v] for v in across}
        active = len(values) >= c.threshold and (c.across is None or len(across) >= c.min_across)
        comparison = (f"{len(values)} distinct {c.field} in {format_duration(c.timeframe)} "
                      f"(alert at {c.threshold})")
        if c.across is not None:
            comparison += f", {len(across)} {c.across} value(s) (at least {c.min_across})"
        return Verdict(active=active, at=now, value=float(len(values)),
                       threshold=float(c.threshold), window=(horizon, now),
                       comparison=comparison)

    def describe(self) -> str:
        c = self.options
        text = f"at least {c.threshold} distinct {c.field} within {format_duration(c.timeframe)}"
        if c.across is not None:
            text += f" on at least {c.min_across} {c.across} value(s)"
        return text
