"""Per-channel rate limit: a token bucket that delays (never drops) a send.

``reserve(now)`` takes a token and says how long to wait before using it. The bucket
may go into debt, so callers that come while it is empty queue up behind each other:
in any interval of length T at most ``burst + rate * T`` sends are scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_EPSILON = 1e-9


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    burst: float = 1.0
    tokens: float = field(init=False)
    last: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0:
            raise ValueError("rate must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.last is None:
            self.last = now
            return
        if now > self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate_per_s)
            self.last = now

    def reserve(self, now: float) -> float:
        """Take one token at ``now``; return the seconds to wait before sending (>= 0)."""
        self._refill(now)
        self.tokens -= 1.0
        if self.tokens >= -_EPSILON:  # float refills: 0.999999... of a token is a token
            return 0.0
        assert self.last is not None
        # the clock may not have moved forward (a caller with an older ``now``)
        return max(0.0, (self.last - now) - self.tokens / self.rate_per_s)


class RateLimiter:
    """One bucket per channel, created on first use with the channel's own rate."""

    def __init__(self, burst: float = 1.0) -> None:
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def reserve(self, channel: str, rate_per_minute: float, now: float) -> float:
        bucket = self._buckets.get(channel)
        if bucket is None or bucket.rate_per_s != rate_per_minute / 60.0:
            bucket = self._buckets[channel] = TokenBucket(rate_per_minute / 60.0, self.burst)
        return bucket.reserve(now)
