"""What window rules share: metrics of closed windows and a sliding span of them.

A closed window (``windows.closed``) has a size (``granularity_s``). A rule over a longer
span (1 min from 10 s windows, 5 min from 1 min windows) sums the last windows that
tile it. Counts, rates and bytes sum exactly; latency percentiles do not merge from
summaries, so latency metrics need a span equal to a closed-window size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from app.core.alerting.durations import format_duration, positive_duration
from app.core.alerting.types.base import Binding, ConfigIssue, RuleType, State, TypeConfig

Metric = Literal["count", "errors", "error_rate", "status_rate", "status_count", "bytes",
                 "rate_per_s", "latency_p50", "latency_p95", "latency_p99", "latency_max",
                 "latency_avg"]
LATENCY = {"latency_p50": "p50", "latency_p95": "p95", "latency_p99": "p99",
           "latency_max": "max", "latency_avg": "avg"}


class WindowConfig(TypeConfig):
    window: float = Field(60.0, description="span the metric is taken over (10s, 1m, 5m)")

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return positive_duration(value)


def summarize(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a closed window a rule keeps."""
    return {"s": float(doc["start"]), "e": float(doc["end"]), "n": int(doc.get("events") or 0),
            "x": int(doc.get("errors") or 0), "b": int(doc.get("bytes") or 0),
            "st": dict(doc.get("status") or {}), "lat": dict(doc.get("latency_ms") or {})}


def metric_value(metric: str, windows: list[dict[str, Any]],
                 status_class: str | None = None) -> float | None:
    """``metric`` over ``windows`` (summaries); None when it is undefined (no latency)."""
    events = sum(w["n"] for w in windows)
    if metric == "count":
        return float(events)
    if metric == "errors":
        return float(sum(w["x"] for w in windows))
    if metric == "error_rate":
        return sum(w["x"] for w in windows) / events if events else 0.0
    if metric == "bytes":
        return float(sum(w["b"] for w in windows))
    if metric == "rate_per_s":
        span = max(w["e"] for w in windows) - min(w["s"] for w in windows)
        return events / span if span > 0 else 0.0
    if metric in ("status_rate", "status_count"):
        hits = sum(int(w["st"].get(status_class or "5xx", 0)) for w in windows)
        if metric == "status_count":
            return float(hits)
        total = sum(sum(int(v) for v in w["st"].values()) for w in windows)
        return hits / total if total else 0.0
    if metric in LATENCY:
        value = windows[-1]["lat"].get(LATENCY[metric])
        return None if value is None else float(value)
    raise ValueError(f"unknown metric {metric!r}")


class WindowRule(RuleType):
    """A rule over closed windows of one service, at one window size."""

    source = "windows"
    granularity: int = 0
    span: int = 1  # windows per evaluation

    def bind(self, binding: Binding) -> None:
        config = self.config
        assert isinstance(config, WindowConfig)
        from app.core.alerting.types.base import pick_granularity

        size = pick_granularity(config.window, binding.window_sizes)
        if size is None:
            sizes = ", ".join(f"{s}s" for s in binding.window_sizes)
            binding.issues.append(ConfigIssue(
                "window", f"{format_duration(config.window)} is not a whole number of the "
                          f"closed-window sizes ({sizes})"))
            return
        self.granularity, self.span = size, round(config.window / size)
        extra = [p for p in self.spec.group_by if p != "service"]
        if extra:
            binding.issues.append(ConfigIssue(
                "group_by", f"{self.name} rules see closed windows per service; they can "
                            f"group by service only, not {', '.join(extra)}"))
        needs_event = self.spec.filter.event_conditions
        if needs_event:
            binding.issues.append(ConfigIssue(
                "filter", f"{self.name} rules see closed windows, which carry no "
                          f"{', '.join(needs_event)}; filter by service only"))

    def accepts(self, doc: Mapping[str, Any]) -> bool:
        return doc.get("route") is None and int(doc.get("granularity_s") or 0) == self.granularity

    def push(self, state: State, doc: Mapping[str, Any], keep: int) -> list[dict[str, Any]] | None:
        """Add a closed window to the span; None when it was seen already (a replay)."""
        windows: list[dict[str, Any]] = state.setdefault("w", [])
        summary = summarize(doc)
        if windows and summary["s"] <= windows[-1]["s"]:
            return None
        windows.append(summary)
        horizon = summary["e"] - keep * self.granularity
        state["w"] = windows = [w for w in windows if w["s"] >= horizon]
        return windows
