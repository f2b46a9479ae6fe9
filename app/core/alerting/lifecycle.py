"""One alert's lifecycle: inactive -> pending -> firing -> resolved, per fingerprint.

``pending`` until the condition has held for ``for``; ``firing`` until it has been false
for ``keep_firing_for``; then ``resolved``. A pending alert whose condition clears goes
back to ``inactive``. Every change is a ``Transition`` (published on
``alerts.transitions``, kept in MongoDB), identified by fingerprint, activation number
and target state, so a replay produces the same transition id.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from app.core.alerting.types.base import Verdict

AlertStateName = Literal["inactive", "pending", "firing", "resolved"]


@dataclass(slots=True)
class Alert:
    rule: str
    fingerprint: str
    labels: dict[str, str]  # group labels (the identity besides the rule)
    state: AlertStateName = "inactive"
    activation: int = 0  # how many times it became active (pending or firing)
    condition: bool = False  # the last verdict
    active_since: float | None = None
    last_active: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    value: float | None = None
    threshold: float | None = None
    peak: float | None = None
    comparison: str = ""
    window: list[float] | None = None
    baseline: dict[str, float] | None = None

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Alert:
        return cls(**state)


@dataclass(frozen=True, slots=True)
class Transition:
    rule: str
    fingerprint: str
    activation: int
    from_state: str
    to_state: str
    at: float  # event time
    labels: dict[str, str]
    value: float | None
    threshold: float | None
    peak: float | None
    comparison: str
    starts_at: float | None
    ends_at: float | None
    window: list[float] | None = None
    baseline: dict[str, float] | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    notify_group: str = ""

    @property
    def id(self) -> str:
        text = f"{self.fingerprint}:{self.activation}:{self.to_state}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    @property
    def duration_s(self) -> float | None:
        if self.starts_at is None or self.ends_at is None:
            return None
        return self.ends_at - self.starts_at

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["_id"] = self.id
        doc["from"] = doc.pop("from_state")
        doc["to"] = doc.pop("to_state")
        doc["duration_s"] = self.duration_s
        return doc


def peak_of(old: float | None, new: float | None, lower_is_worse: bool) -> float | None:
    if new is None:
        return old
    if old is None:
        return new
    return min(old, new) if lower_is_worse else max(old, new)


def _transition(alert: Alert, old: str, at: float) -> Transition:
    return Transition(
        rule=alert.rule, fingerprint=alert.fingerprint, activation=alert.activation,
        from_state=old, to_state=alert.state, at=at, labels=dict(alert.labels),
        value=alert.value, threshold=alert.threshold, peak=alert.peak,
        comparison=alert.comparison, starts_at=alert.active_since,
        ends_at=alert.resolved_at if alert.state in ("resolved", "inactive") else None,
        window=alert.window, baseline=alert.baseline)


def apply_verdict(alert: Alert, verdict: Verdict, *, for_s: float, keep_firing_for_s: float,
                  lower_is_worse: bool = False) -> list[Transition]:
    """Step ``alert`` with one verdict; returns the transitions it made (0, 1 or 2)."""
    t = verdict.at
    old = alert.state
    out: list[Transition] = []
    alert.condition = verdict.active
    if verdict.active:
        if old in ("inactive", "resolved"):
            alert.activation += 1
            alert.active_since, alert.fired_at, alert.resolved_at = t, None, None
            alert.peak = None
            alert.state = "pending"
        alert.last_active = t
        alert.value, alert.threshold = verdict.value, verdict.threshold
        alert.comparison = verdict.comparison
        alert.window = list(verdict.window) if verdict.window else None
        alert.baseline = dict(verdict.baseline) if verdict.baseline else None
        alert.peak = peak_of(alert.peak, verdict.value, lower_is_worse)
        if alert.state == "pending" and old != "pending":
            out.append(_transition(alert, old, t))
        out += advance(alert, t, for_s=for_s, keep_firing_for_s=keep_firing_for_s)
        return out
    if verdict.value is not None and alert.state in ("firing", "pending"):
        alert.value = verdict.value
        alert.comparison = verdict.comparison
        if verdict.window:
            alert.window = list(verdict.window)
    if old == "pending":
        alert.state, alert.resolved_at = "inactive", t
        return [_transition(alert, old, t)]
    return advance(alert, t, for_s=for_s, keep_firing_for_s=keep_firing_for_s)


def advance(alert: Alert, now: float, *, for_s: float,
            keep_firing_for_s: float) -> list[Transition]:
    """Time alone moved to ``now``: pending may fire, firing may resolve."""
    old = alert.state
    if old == "pending" and alert.condition and alert.active_since is not None \
            and now - alert.active_since >= for_s:
        alert.state, alert.fired_at = "firing", now
        return [_transition(alert, old, now)]
    if old == "firing" and not alert.condition and alert.last_active is not None \
            and now - alert.last_active >= keep_firing_for_s:
        alert.state, alert.resolved_at = "resolved", now
        return [_transition(alert, old, now)]
    return []
