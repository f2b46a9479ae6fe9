"""Rate limiter (token bucket) and retry backoff: properties over arbitrary inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.delivery import RateLimiter, RetryPolicy, TokenBucket

rates = st.floats(min_value=0.01, max_value=50.0, allow_nan=False)
bursts = st.integers(min_value=1, max_value=10)
gaps = st.lists(st.floats(min_value=0.0, max_value=5.0, allow_nan=False), min_size=1,
                max_size=60)


def scheduled(rate: float, burst: int, steps: list[float]) -> list[float]:
    bucket, now, out = TokenBucket(rate, burst), 1000.0, []
    for gap in steps:
        now += gap
        out.append(now + bucket.reserve(now))
    return out


@settings(max_examples=300)
@given(rates, bursts, gaps)
def test_no_interval_gets_more_than_burst_plus_rate_times_length(rate, burst, steps):
    times = scheduled(rate, burst, steps)
    assert times == sorted(times)  # callers are served in order
    for i in range(len(times)):
        for j in range(i, len(times)):
            length = times[j] - times[i]
            assert j - i + 1 <= burst + rate * length + 1e-6


@settings(max_examples=300)
@given(rates, bursts, gaps)
def test_delays_never_negative_and_nothing_is_dropped(rate, burst, steps):
    bucket, now = TokenBucket(rate, burst), 0.0
    for gap in steps:
        now += gap
        assert bucket.reserve(now) >= 0.0


@given(rates, bursts, st.integers(min_value=1, max_value=40))
def test_callers_spaced_by_the_rate_never_wait(rate, burst, count):
    bucket = TokenBucket(rate, burst)
    assert all(bucket.reserve(i / rate) == 0.0 for i in range(count))


def test_a_burst_passes_then_the_rest_queue_at_the_rate():
    bucket = TokenBucket(rate_per_s=1.0, burst=3)
    assert [bucket.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert bucket.reserve(10.0) == 0.0  # refilled meanwhile


def test_limiter_keeps_one_bucket_per_channel():
    limiter = RateLimiter(burst=1)
    assert limiter.reserve("mail", 60.0, 0.0) == 0.0
    assert limiter.reserve("hook", 60.0, 0.0) == 0.0  # another channel: own bucket
    assert limiter.reserve("mail", 60.0, 0.0) == pytest.approx(1.0)
    assert limiter.reserve("mail", 6.0, 0.0) == 0.0  # a new rate starts a new bucket


policies = st.builds(
    lambda attempts, base, factor: RetryPolicy(attempts, base, base * factor),
    st.integers(min_value=1, max_value=30),
    st.floats(min_value=0.001, max_value=10.0, allow_nan=False),
    st.floats(min_value=1.0, max_value=1000.0, allow_nan=False))


@given(policies, st.integers(min_value=1, max_value=200),
       st.floats(min_value=0.0, max_value=0.999))
def test_backoff_is_positive_capped_and_grows(policy, attempt, draw):
    delay = policy.delay(attempt)
    assert 0 < delay <= policy.max_backoff_s
    assert policy.delay(attempt + 1) >= delay
    assert policy.delay(1) == pytest.approx(policy.base_backoff_s)
    jittered = RetryPolicy(policy.max_attempts, policy.base_backoff_s, policy.max_backoff_s,
                           jitter=0.2).delay(attempt, draw)
    assert 0.8 * delay - 1e-9 <= jittered <= delay


@given(policies)
def test_a_round_is_bounded(policy):
    waits = policy.schedule()
    assert len(waits) == policy.max_attempts - 1
    assert sum(waits) <= (policy.max_attempts - 1) * policy.max_backoff_s * (1 + 1e-9)
    assert not policy.exhausted(policy.max_attempts - 1)
    assert policy.exhausted(policy.max_attempts)


def test_schedule_doubles_up_to_the_cap():
    assert RetryPolicy(6, 1.0, 10.0).schedule() == [1.0, 2.0, 4.0, 8.0, 10.0]
    with pytest.raises(ValueError):
        RetryPolicy(0, 1.0, 10.0)
    with pytest.raises(ValueError):
        RetryPolicy(3, 5.0, 1.0)
