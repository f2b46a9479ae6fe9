"""``flatline``: fewer than ``threshold`` events within ``window`` from a service that was
active (closed windows include empty ones for services that went silent)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from app.core.alerting.durations import format_duration
from app.core.alerting.types.base import State, Verdict
from app.core.alerting.types.windowed import WindowConfig, WindowRule


class FlatlineConfig(WindowConfig):
    threshold: int = Field(1, ge=1, description="fire when fewer events than this")
    active_events: int = Field(1, ge=1, description="events in one window that make a "
                                                   "service count as active")


class FlatlineRule(WindowRule):
    name = "flatline"
    Config = FlatlineConfig

    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        c = self.config
        assert isinstance(c, FlatlineConfig)
        windows = self.push(state, item, self.span)
        if windows is None:
            return None
        current = windows[-1]
        if current["n"] >= c.active_events:
            state["act"] = current["e"]
        count = sum(w["n"] for w in windows)
        start, end = windows[0]["s"], current["e"]
        full = len(windows) >= self.span
        was_active = state.get("act") is not None
        return Verdict(active=full and was_active and count < c.threshold, at=end,
                       value=float(count), threshold=float(c.threshold), window=(start, end),
                       comparison=f"{count} events in {format_duration(end - start)} "
                                  f"(fewer than {c.threshold} is a flatline)")

    def describe(self) -> str:
        c = self.config
        assert isinstance(c, FlatlineConfig)
        return f"fewer than {c.threshold} events in {format_duration(c.window)}"
