"""``spike``: the current window against a baseline learned from earlier windows.

Per service, every closed window of the rule's size updates a baseline of the metric
(EWMA mean/variance, or median/MAD of the last ``history`` windows). After ``warm_up``
windows, a window whose z-score passes ``z`` in the chosen direction is a spike. While a
window is anomalous it does not teach the baseline (unless ``learn_while_anomalous``), so
a long incident does not become the new normal and resolve itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from app.core.alerting.baseline import (
    ewma_centre,
    ewma_update,
    history_update,
    median_mad,
    zscore,
)
from app.core.alerting.durations import format_duration
from app.core.alerting.types.base import Binding, ConfigIssue, State, Verdict
from app.core.alerting.types.windowed import Metric, WindowConfig, WindowRule, metric_value


class SpikeConfig(WindowConfig):
    metric: Metric = "count"
    status_class: str | None = Field(None, pattern=r"^[1-5]xx$")
    baseline: Literal["ewma", "median_mad"] = "ewma"
    alpha: float = Field(0.1, gt=0, le=1, description="EWMA weight of the newest window")
    history: int = Field(30, ge=3, le=1000, description="windows median/MAD looks at")
    warm_up: int = Field(10, ge=1, description="windows learned before any alert")
    min_events: int = Field(10, ge=0, description="skip windows (now and baseline) below this")
    direction: Literal["up", "down", "both"] = "up"
    z: float = Field(3.0, gt=0, description="z-score that makes a spike")
    min_stddev: float = Field(0.0, ge=0, description="floor of the spread (metric units)")
    relative_floor: float = Field(0.05, ge=0, description="floor of the spread, x centre")
    learn_while_anomalous: bool = False


class SpikeRule(WindowRule):
    name = "spike"
    Config = SpikeConfig

    def bind(self, binding: Binding) -> None:
        super().bind(binding)
        if self.span > 1:
            sizes = ", ".join(f"{s}s" for s in binding.window_sizes)
            binding.issues.append(ConfigIssue(
                "window", f"spike compares single closed windows; use one of {sizes}"))

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, SpikeConfig)
        windows = self.push(state, item, 1)
        if windows is None:
            return None
        current = windows[-1]
        value = metric_value(c.metric, [current], c.status_class)
        window = (current["s"], current["e"])
        learned = state.setdefault("b", {})
        if value is None:
            return Verdict(active=False, at=current["e"], window=window,
                           comparison=f"{c.metric}: no data")
        if c.baseline == "ewma":
            centre, spread = ewma_centre(learned)
        else:
            centre, spread = median_mad(list(learned.get("h", [])))
        z, used = zscore(value, centre, spread, min_spread=c.min_stddev,
                         relative_floor=c.relative_floor)
        events_centre = float(state.get("ev", current["n"]))
        warm = int(learned.get("n", 0)) >= c.warm_up
        enough = max(current["n"], events_centre) >= c.min_events
        anomalous = warm and enough and (
            (c.direction in ("up", "both") and z >= c.z)
            or (c.direction in ("down", "both") and z <= -c.z))
        if not anomalous or c.learn_while_anomalous:
            if c.baseline == "ewma":
                ewma_update(learned, value, c.alpha)
            else:
                history_update(learned, value, c.history)
            state["ev"] = events_centre + c.alpha * (current["n"] - events_centre)
        bound = centre + c.z * used if z >= 0 else centre - c.z * used
        return Verdict(
            active=anomalous, at=current["e"], value=value, threshold=bound, window=window,
            baseline={"mean": centre, "stddev": used, "z": z, "learned": learned.get("n", 0)},
            comparison=f"{c.metric} {value:.4g} vs baseline {centre:.4g} ± {used:.3g} "
                       f"(z = {z:.1f}, limit {c.z:g})")

    def describe(self) -> str:
        c = self.config
        assert isinstance(c, SpikeConfig)
        return (f"{c.metric} per {format_duration(c.window)} {c.direction} more than "
                f"{c.z:g} standard deviations from its {c.baseline} baseline")
