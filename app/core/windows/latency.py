"""A mergeable latency distribution with bounded relative error (DDSketch).

The state is DDSketch's own bucket layout (``ddsketch.mapping.LogarithmicMapping``):
a value ``v`` counts in bucket ``key(v)``, and any quantile read back is within the
mapping's relative accuracy (1 % by default) of the true value. Keeping the buckets as
a plain ``{key: count}`` dict makes the state cheap to fold into, to merge, and to store
as JSON in a changelogged table; the quantiles are read through ``ddsketch`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ddsketch.ddsketch import BaseDDSketch
from ddsketch.mapping import LogarithmicMapping
from ddsketch.store import DenseStore

RELATIVE_ACCURACY = 0.01
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
_MIN_POSITIVE = _MAPPING.min_possible
# ``_MAPPING.key(v)`` is ``int(ceil(log(v, 2) * multiplier) + offset)``
# (``LogarithmicMapping``); computed inline below with the same operations, so the same
# buckets, without three Python-level calls per value
_MULTIPLIER = _MAPPING._multiplier
_OFFSET = _MAPPING._offset



@dataclass(slots=True)
class LatencySketch:
    buckets: dict[int, int] = field(default_factory=dict)
    zeros: int = 0  # values too small for a bucket (0 ms)
    count: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = 0.0

    def add(self, value: float) -> None:
        """Record one non-negative latency (negative values count as 0)."""
        self.add_many([value])

    def add_many(self, values: list[float]) -> None:
        """Record each of ``values`` as ``add`` does (the window fold's bulk insert)."""
        if not values:
            return
        self.count += len(values)
        high, low = max(values), min(values)  # (values are not NaN: JSON has none)
        if high > self.high:
            self.high = high
        if low < self.low:
            self.low = low
        buckets, total = self.buckets, self.total  # summed in the order add() would
        log, ceil, multiplier, offset = math.log, math.ceil, _MULTIPLIER, _OFFSET
        for value in values:
            if value < _MIN_POSITIVE:
                self.zeros += 1
                continue
            total += value
            key = int(ceil(log(value, 2) * multiplier) + offset)
            buckets[key] = buckets.get(key, 0) + 1
        self.total = total

    def merge(self, other: LatencySketch) -> None:
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        self.zeros += other.zeros
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1), within 1 % relative error; None when empty."""
        if self.count == 0:
            return None
        store = DenseStore()
        for key, n in self.buckets.items():
            store.add(key, n)
        sketch = BaseDDSketch(_MAPPING, store, DenseStore(), float(self.zeros))
        value = sketch.get_quantile_value(q)
        if value is None:
            return None
        return float(min(max(value, self.low), self.high))  # exact at the extremes

    def summary(self) -> dict[str, float | None]:
        return {"p50": self.quantile(0.50), "p95": self.quantile(0.95),
                "p99": self.quantile(0.99), "max": self.high if self.count else None,
                "avg": self.total / self.count if self.count else None}

    def to_state(self) -> dict[str, Any]:
        return {"b": {str(k): n for k, n in self.buckets.items()}, "z": self.zeros,
                "n": self.count, "s": self.total,
                "lo": self.low if self.count else None, "hi": self.high}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LatencySketch:
        low = state.get("lo")
        return cls(buckets={int(k): int(n) for k, n in state.get("b", {}).items()},
                   zeros=int(state.get("z", 0)), count=int(state.get("n", 0)),
                   total=float(state.get("s", 0.0)),
                   low=float("inf") if low is None else float(low),
                   high=float(state.get("hi", 0.0)))
