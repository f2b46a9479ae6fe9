"""A rule as written (``RuleSpec``, validated) and as loaded (``Rule``: spec + type).

Every rule has the Prometheus/Alertmanager vocabulary operators know (``for``,
``keep_firing_for``, ``labels``, ``annotations``, ``group_by``, ``repeat_interval``)
plus a ``type`` whose own options sit beside the common ones in the same mapping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.alerting.durations import parse_duration
from app.core.alerting.filters import EventFilter, field_value, label_name
from app.core.alerting.matchers import Matcher, parse_matchers
from app.core.alerting.templating import check_template
from app.core.alerting.types.base import RuleType

Severity = Literal["critical", "warning", "info"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


def _duration(value: Any) -> float:
    return parse_duration(value)


class NotifySpec(BaseModel):
    """Alertmanager-style bundling of one rule's alerts into notifications."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group_by: list[str] = Field(default_factory=list,
                                description="labels (of group_by) one notification covers; "
                                            "[] bundles every alert of the rule")
    group_wait: float = Field(30.0, description="wait for more alerts before the first "
                                                "notification of a group")
    group_interval: float = Field(300.0, description="wait between notifications of a "
                                                     "group about new changes")

    @field_validator("group_wait", "group_interval", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float:
        return _duration(value)


class RuleSpec(BaseModel):
    """The fields every rule has, whatever its type."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    description: str = ""
    enabled: bool = True
    filter: EventFilter = Field(default_factory=EventFilter)
    group_by: list[str] = Field(default_factory=list,
                                description="event field paths; one alert per value")
    for_: float = Field(0.0, alias="for", description="true this long before it fires")
    keep_firing_for: float = Field(0.0, description="keeps firing this long after it clears")
    repeat_interval: float = Field(4 * 3600.0, description="re-notify while firing")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    severity: Severity = "warning"
    routes: list[str] = Field(default_factory=list, description="Apprise tags")
    owner: str | None = None
    team: str | None = None
    notify: NotifySpec = Field(default_factory=NotifySpec)

    @field_validator("for_", "keep_firing_for", "repeat_interval", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float:
        return _duration(value)

    @field_validator("repeat_interval")
    @classmethod
    def _positive_repeat(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("repeat_interval must be longer than 0s")
        return value

    @field_validator("annotations")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            try:
                check_template(text)
            except ValueError as exc:
                raise ValueError(f"annotation {key!r}: {exc}") from None
        return value

    @field_validator("labels")
    @classmethod
    def _reserved(cls, value: dict[str, str]) -> dict[str, str]:
        if "alertname" in value:
            raise ValueError("alertname is the rule's name; it cannot be set as a label")
        return value

    @model_validator(mode="after")
    def _notify_labels(self) -> RuleSpec:
        known = {label_name(p) for p in self.group_by}
        unknown = [name for name in self.notify.group_by if name not in known]
        if unknown:
            raise ValueError(f"notify.group_by {unknown} must be labels of group_by "
                             f"({sorted(known)})")
        return self


class InhibitRule(BaseModel):
    """While an alert matching ``source`` fires, alerts matching ``target`` (with equal
    values of ``equal`` labels) are muted."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: list[str] = Field(default_factory=list)

    @field_validator("source", "target", mode="before")
    @classmethod
    def _matchers(cls, value: Any) -> tuple[Matcher, ...]:
        matchers = parse_matchers(value)
        if not matchers:
            raise ValueError("needs at least one matcher")
        return matchers


@dataclass(frozen=True, slots=True)
class Rule:
    """A loaded rule: its spec, its type (with validated config) and where it came from."""

    spec: RuleSpec
    kind: RuleType
    origin: str = ""  # file the rule was read from

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label_paths(self) -> tuple[str, ...]:
        """Field paths whose values make up an alert's identity."""
        paths = list(self.spec.group_by)
        paths += [p for p in self.kind.extra_labels() if p not in paths]
        return tuple(paths)

    def group_labels(self, doc: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for path in self.label_paths:
            value = field_value(doc, path)
            out[label_name(path)] = "" if value is None else str(value)
        return out

    def notify_key(self, labels: Mapping[str, str]) -> str:
        """The notification group: the rule plus the ``notify.group_by`` labels."""
        parts = [f"{name}={labels.get(name, '')}" for name in self.spec.notify.group_by]
        return "|".join([self.name, *parts])

    def alert_labels(self, group: Mapping[str, str]) -> dict[str, str]:
        labels = {"alertname": self.name, "severity": self.spec.severity}
        if self.spec.team:
            labels["team"] = self.spec.team
        labels.update(self.spec.labels)
        labels.update(group)
        return labels


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """Stable identity of one alert: the rule and its group labels."""
    text = rule + "\x1f" + "\x1f".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    inhibit: tuple[InhibitRule, ...] = ()
    by_name: dict[str, Rule] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: list[Rule], inhibit: list[InhibitRule] | None = None) -> RuleSet:
        return cls(tuple(rules), tuple(inhibit or ()), {r.name: r for r in rules})
