"""``threshold``: a metric of closed windows against a bound (error rate > 5 % over 1 min)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from app.core.alerting.durations import format_duration
from app.core.alerting.types.base import Binding, ConfigIssue, State, Verdict
from app.core.alerting.types.windowed import LATENCY, Metric, WindowConfig, WindowRule, metric_value

Op = Literal[">", ">=", "<", "<="]
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class ThresholdConfig(WindowConfig):
    metric: Metric
    op: Op = ">"
    value: float
    status_class: str | None = Field(None, pattern=r"^[1-5]xx$",
                                     description="for status_rate / status_count (5xx)")
    min_events: int = Field(0, ge=0, description="windows with fewer events are not judged")

    @model_validator(mode="after")
    def _status(self) -> ThresholdConfig:
        if self.metric.startswith("status_") and self.status_class is None:
            raise ValueError(f"metric {self.metric} needs status_class (e.g. 5xx)")
        return self


def compare(op: str, value: float, bound: float) -> bool:
    return OPS[op](value, bound)


class ThresholdRule(WindowRule):
    name = "threshold"
    Config = ThresholdConfig

    def bind(self, binding: Binding) -> None:
        super().bind(binding)
        config = self.config
        assert isinstance(config, ThresholdConfig)
        if config.metric in LATENCY and self.span > 1:
            binding.issues.append(ConfigIssue(
                "window", f"{config.metric} needs a window equal to a closed-window size "
                          f"({', '.join(f'{s}s' for s in binding.window_sizes)}): percentiles "
                          "do not add up across windows"))

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        config = self.config
        assert isinstance(config, ThresholdConfig)
        windows = self.push(state, item, self.span)
        if windows is None:
            return None
        start, end = windows[0]["s"], windows[-1]["e"]
        events = sum(w["n"] for w in windows)
        value = metric_value(config.metric, windows, config.status_class)
        judged = value is not None and events >= config.min_events
        active = judged and value is not None and compare(config.op, value, config.value)
        return Verdict(active=active, at=end, value=value, threshold=config.value,
                       comparison=f"{config.metric} {_fmt(value)} {config.op} "
                                  f"{_fmt(config.value)} over {format_duration(end - start)}",
                       window=(start, end))

    def describe(self) -> str:
        c = self.config
        assert isinstance(c, ThresholdConfig)
        return f"{c.metric} {c.op} {_fmt(c.value)} over {format_duration(c.window)}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}"
