"""Per-partition watermarks: when may a window close?

The watermark of a partition is the largest event time seen on it minus a grace period
for late events. A window closes when the watermark passes its end. A partition that
stops receiving events would hold its windows open forever, so after ``idle_after``
seconds of wall-clock silence its watermark advances with the clock (the caller passes
``now``: the core reads no clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Watermarks:
    grace_s: float
    idle_after_s: float
    max_event: dict[int, float] = field(default_factory=dict)
    last_seen: dict[int, float] = field(default_factory=dict)  # wall clock of last event

    def observe(self, partition: int, event_ts: float, now: float) -> None:
        if event_ts > self.max_event.get(partition, float("-inf")):
            self.max_event[partition] = event_ts
        self.last_seen[partition] = now

    def watermark(self, partition: int, now: float) -> float | None:
        """None until the partition has seen an event."""
        latest = self.max_event.get(partition)
        if latest is None:
            return None
        mark = latest - self.grace_s
        idle = now - self.last_seen.get(partition, now)
        if idle > self.idle_after_s:
            # event time keeps pace with wall time while the partition is quiet
            mark = max(mark, latest + (idle - self.idle_after_s) - self.grace_s)
        return mark

    def closable(self, partition: int, window_end: float, now: float) -> bool:
        mark = self.watermark(partition, now)
        return mark is not None and mark >= window_end
