"""Retrying a sink or broker call until it succeeds: the one capped-backoff loop.

An outage of Kafka, MongoDB or Elasticsearch slows the pipeline down; it never makes an
agent drop what it holds. Every such wait uses the same schedule (0.5 s, 1 s, 2 s, ...
capped at the caller's ``max_backoff_s``) and logs each failed attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def backoff_s(attempt: int, max_backoff_s: float) -> float:
    """Seconds to wait after the ``attempt``-th failure (1-based)."""
    return float(min(max_backoff_s, 0.25 * 2 ** min(attempt, 16)))


async def until_done(call: Callable[[], Awaitable[T]], *,
                     retry_on: type[BaseException] | tuple[type[BaseException], ...],
                     what: str, max_backoff_s: float, log: logging.Logger) -> T:
    """``await call()`` again after each failure in ``retry_on`` until it succeeds."""
    attempt = 0
    while True:
        try:
            return await call()
        except retry_on as exc:
            attempt += 1
            delay = backoff_s(attempt, max_backoff_s)
            log.warning("%s failed (attempt %d, retry in %.1fs): %r", what, attempt, delay, exc)
            await asyncio.sleep(delay)
