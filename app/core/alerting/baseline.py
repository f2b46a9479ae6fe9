"""Learned baselines for ``spike``: EWMA mean/variance and median/MAD, as JSON state.

Both give a centre and a spread; a value's z-score is its distance from the centre in
spreads. The spread has a floor (absolute and relative to the centre), so a series that
was perfectly flat does not turn every small wobble into an infinite z-score.
"""

from __future__ import annotations

import math
from statistics import median
from typing import Any

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def ewma_update(state: dict[str, Any], x: float, alpha: float) -> None:
    """Fold ``x`` into the exponentially weighted mean and variance (West, 1979)."""
    n = int(state.get("n", 0))
    if n == 0:
        state["mean"], state["var"] = x, 0.0
    else:
        diff = x - float(state["mean"])
        incr = alpha * diff
        state["mean"] = float(state["mean"]) + incr
        state["var"] = (1 - alpha) * (float(state["var"]) + diff * incr)
    state["n"] = n + 1


def ewma_centre(state: dict[str, Any]) -> tuple[float, float]:
    return float(state.get("mean", 0.0)), math.sqrt(max(0.0, float(state.get("var", 0.0))))


def history_update(state: dict[str, Any], x: float, keep: int) -> None:
    values: list[float] = state.setdefault("h", [])
    values.append(x)
    del values[:-keep]
    state["n"] = int(state.get("n", 0)) + 1


def median_mad(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    centre = median(values)
    return centre, MAD_TO_SIGMA * median(abs(v - centre) for v in values)


def zscore(x: float, centre: float, spread: float, *, min_spread: float,
           relative_floor: float) -> tuple[float, float]:
    """(z, spread used): ``spread`` raised to its floors."""
    used = max(spread, min_spread, relative_floor * abs(centre))
    if used <= 0:
        return (0.0 if x == centre else math.copysign(math.inf, x - centre)), used
    return (x - centre) / used, used
