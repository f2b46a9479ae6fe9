"""Bounded top-N summaries (Space-Saving) that can be merged.

At most ``capacity`` keys are tracked. A new key arriving when the summary is full takes
the place of the smallest one and inherits its count as possible over-estimate
(``error``), so a reported count is at most ``error`` above the truth and any key more
frequent than ``total / capacity`` is never lost (Metwally et al., 2005).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class TopN:
    capacity: int = 20
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += n
        elif len(counts) < self.capacity:
            counts[key] = n
        else:
            # the first key (insertion order) holding the smallest count, as
            # min(counts, key=counts.__getitem__) picks it, found by C-level calls
            values = list(counts.values())
            smallest = list(counts)[values.index(min(values))]
            floor = counts.pop(smallest)
            self.errors.pop(smallest, None)
            counts[key] = floor + n
            self.errors[key] = floor

    def merge(self, other: TopN) -> None:
        for key, n in other.counts.items():
            self.add(key, n)

    def top(self, n: int | None = None) -> list[tuple[str, int]]:
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked if n is None else ranked[:n]

    def to_state(self) -> dict[str, Any]:
        return {"c": self.capacity, "k": self.counts, "e": self.errors}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TopN:
        return cls(capacity=int(state.get("c", 20)), counts=dict(state.get("k", {})),
                   errors=dict(state.get("e", {})))
