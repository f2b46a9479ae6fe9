"""Replay closed windows through a ``spike`` rule: the learned baseline per window.

The anomaly view (``/alerts/anomaly``) shows, for one service and metric, what the spike
rule's baseline was before each closed window, its band (centre ± z·spread, the spread
being the EWMA standard deviation or the scaled MAD, raised to its floors) and which
windows it flags. Nothing here recomputes the baseline: every window goes through
``SpikeRule.observe`` in order, with one fresh state, exactly as the alerts agent feeds a
fingerprint, and each point is read off the verdict it returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app.core.alerting.models import RuleSpec
from app.core.alerting.types.base import Binding
from app.core.alerting.types.spike import SpikeConfig, SpikeRule

#: the spike options the view lets an operator change (besides metric and window)
TUNABLE = ("z", "baseline", "alpha", "history", "warm_up", "min_events", "direction",
           "min_stddev", "relative_floor", "learn_while_anomalous", "status_class")


@dataclass(frozen=True, slots=True)
class BaselinePoint:
    """One closed window and the baseline the rule held when it arrived."""

    start: float
    end: float
    events: int
    value: float | None  # None: the metric is undefined (no latency in the window)
    centre: float | None  # None until the baseline has learned a window
    spread: float | None  # the spread used (after its floors)
    z: float | None
    lower: float | None  # centre - z·spread, once warm
    upper: float | None  # centre + z·spread, once warm
    learned: int  # windows the baseline had learned before this one
    warm: bool
    flagged: bool  # the rule's verdict was active: a spike

    def to_doc(self) -> dict[str, Any]:
        """As JSON values: an infinite z-score (no spread at all) becomes null."""
        return {k: finite(v) for k, v in asdict(self).items()}


def finite(value: Any) -> Any:
    """``value``, except a non-finite float, which is None (JSON has no infinity)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def spike_config(base: SpikeConfig | None, overrides: Mapping[str, Any]) -> SpikeConfig:
    """``base`` (a rule's config, or the defaults) with ``overrides``, validated again
    (raises ``pydantic.ValidationError``)."""
    fields = base.model_dump() if base is not None else {}
    return SpikeConfig.model_validate({**fields, **overrides})


def replay_spike(config: SpikeConfig, windows: Iterable[Mapping[str, Any]],
                 size_s: int) -> list[BaselinePoint]:
    """Each closed window of ``size_s`` seconds (``window_stats`` documents, any order)
    through a fresh ``spike`` rule with ``config``; one point per window, oldest first.

    ``config.window`` must be ``size_s`` (spike compares single windows); a window seen
    twice counts once, as in the alerts agent."""
    kind = SpikeRule(config, RuleSpec(name="anomaly-view", type=SpikeRule.name))
    binding = Binding((size_s,))
    kind.bind(binding)
    if binding.issues:
        raise ValueError("; ".join(f"{i.field}: {i.message}" for i in binding.issues))
    state: dict[str, Any] = {}
    points: list[BaselinePoint] = []
    for doc in sorted(windows, key=lambda d: float(d["start"])):
        if not kind.accepts(doc):
            continue
        learned = int(state.get("b", {}).get("n", 0))  # what the rule's warm-up counts
        verdict = kind.observe(state, doc, float(doc["end"]))
        if verdict is None:  # the same window again
            continue
        baseline = verdict.baseline or {}
        centre = float(baseline["mean"]) if "mean" in baseline and learned else None
        spread = float(baseline["stddev"]) if centre is not None else None
        warm = learned >= config.warm_up
        lower = upper = None
        if warm and centre is not None and spread is not None:
            lower, upper = centre - config.z * spread, centre + config.z * spread
        points.append(BaselinePoint(
            start=float(doc["start"]), end=float(doc["end"]),
            events=int(doc.get("events") or 0), value=verdict.value, centre=centre,
            spread=spread, z=float(baseline["z"]) if "z" in baseline else None,
            lower=lower, upper=upper, learned=learned, warm=warm, flagged=verdict.active))
    return points
