"""Retry schedule of a failed send: capped exponential backoff, bounded attempts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    jitter: float = 0.0  # fraction of a delay that ``draw`` may take off (0: deterministic)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 < self.base_backoff_s <= self.max_backoff_s:
            raise ValueError("need 0 < base_backoff_s <= max_backoff_s")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter must be in [0, 1)")

    def exhausted(self, attempts_made: int) -> bool:
        """No attempt is left after ``attempts_made`` failed ones (in this round)."""
        return attempts_made >= self.max_attempts

    def delay(self, attempts_made: int, draw: float = 0.0) -> float:
        """Seconds to wait after the ``attempts_made``-th failure (1-based).

        ``draw`` in [0, 1) is the caller's random number for jitter.
        """
        if attempts_made < 1:
            raise ValueError("delay is asked after at least one failed attempt")
        exponent = min(attempts_made - 1, 62)
        full = min(self.max_backoff_s, self.base_backoff_s * 2.0 ** exponent)
        return full * (1.0 - self.jitter * min(max(draw, 0.0), 1.0))

    def schedule(self) -> list[float]:
        """The waits between attempts of one round without jitter (``max_attempts - 1``)."""
        return [self.delay(n) for n in range(1, self.max_attempts)]
