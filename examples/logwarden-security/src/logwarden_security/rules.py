"""Rule type ``distinct_count``: distinct values of a field per group within a time frame.

ElastAlert calls it *cardinality*. Password spraying is one instance: distinct
``attrs.user`` per ``attrs.source_ip`` among failed logins, across at least two
services::

    type: distinct_count
    field: attrs.user
    group_by: attrs.source_ip
    threshold: 10          # fires at 10 distinct users
    timeframe_s: 300
    where: {attrs.auth_result: [failure, invalid_user]}
    across: service        # ... seen on at least min_across distinct services
    min_across: 2

Pure: the state is a JSON-able dict passed in and out, time is the events' own time
(``ts``), and nothing reads a clock, so a replay folds to the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.plugins.contracts import Observation

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


class DistinctCountRule:
    """The ``distinct_count`` rule type (``app.plugins.contracts.RuleType``)."""

    name: ClassVar[str] = "distinct_count"
    Config: ClassVar[type[BaseModel]] = DistinctCountConfig

    def __init__(self, config: DistinctCountConfig) -> None:
        self.config = config

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> DistinctCountRule:
        try:
            return cls(DistinctCountConfig.model_validate(dict(options)))
        except ValidationError as exc:
            fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(rule)'}: {e['msg']}"
                               for e in exc.errors())
            raise ValueError(f"{cls.name}: {fields}") from None

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
        values = {v: t for v, t in old["values"].items() if t > horizon}
        values[str(value)] = max(ts, values.get(str(value), ts))
        if len(values) > MAX_VALUES:
            values = dict(sorted(values.items(), key=lambda kv: kv[1])[-MAX_VALUES:])
        across = {v: t for v, t in old["across"].items() if t > horizon}
        if c.across is not None:
            other = lookup(event, c.across)
            if other is not None:
                across[str(other)] = max(ts, across.get(str(other), ts))
        key = old["key"] if old["key"] is not None else self.group_key(event)
        return {"key": key, "latest": latest, "values": values, "across": across}

    def check(self, state: Any, now: float) -> Observation | None:
        c = self.config
        if not state:
            return None
        horizon = now - c.timeframe_s
        values = sorted(v for v, t in state["values"].items() if t > horizon)
        across = sorted(v for v, t in state["across"].items() if t > horizon)
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
