"""Time ranges of the pages and the API: presets (``15m``) or ``from``/``to``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.query.predicate import date_value

#: preset -> seconds; the pages offer these
PRESETS: dict[str, int] = {"5m": 300, "15m": 900, "1h": 3600, "6h": 6 * 3600,
                           "24h": 86400, "7d": 7 * 86400}
DEFAULT = "15m"
MAX_SPAN_S = 31 * 86400


class RangeError(ValueError):
    def __init__(self, param: str, reason: str) -> None:
        self.param, self.reason = param, reason
        super().__init__(f"{param}: {reason}")


@dataclass(frozen=True, slots=True)
class TimeRange:
    since: float
    until: float
    preset: str | None  # None: custom from/to

    @property
    def span(self) -> float:
        return self.until - self.since


def instant(text: str, now: float, param: str) -> float:
    """Epoch seconds from ISO 8601, epoch milliseconds, or ``now-15m`` date math."""
    text = text.strip()
    try:
        if text.isdigit():
            return int(text) / 1000.0
        value = date_value(text, now)
    except (ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value):
        raise RangeError(param, "expected ISO 8601 (2024-05-01T10:00:00Z), epoch "
                                "milliseconds, or now-15m style date math")
    return value


def parse_range(query: Any, now: float, default: str = DEFAULT) -> TimeRange:
    """``range=15m``, or ``from``/``to`` (``to`` defaults to now); raises ``RangeError``."""
    start, end = query.get("from") or "", query.get("to") or ""
    if start or end:
        until = instant(end, now, "to") if end else now
        since = instant(start, now, "from") if start else until - PRESETS[default]
        if since >= until:
            raise RangeError("from", "must be before 'to'")
        if until - since > MAX_SPAN_S:
            raise RangeError("from", f"the range may span at most {MAX_SPAN_S // 86400} days")
        return TimeRange(since, until, None)
    preset = query.get("range") or default
    if preset not in PRESETS:
        raise RangeError("range", f"must be one of {', '.join(PRESETS)}")
    return TimeRange(now - PRESETS[preset], now, preset)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")
