"""Delivery records (one per notification key and channel) and "send it or not?".

A record, as stored by ``app.adapters.delivery_log``::

    {key, channel, kind, group, title, status, sending_attempt, sending_at,
     attempts: [{n, at, result, error, delay_s}], first_at, updated_at, delivered_at}

``status`` moves ``sending`` (an attempt is in flight) -> ``delivered`` | ``retrying``
(failed, another attempt is due) | ``failed`` (``max_attempts`` used up). A key whose
record says ``delivered`` is never sent to that channel again. Everything else is sent
(again): a ``failed`` record gets a new round of attempts when the outbox is replayed,
and a record left in ``sending`` means the worker stopped between the send and writing
its outcome: the one case where a channel may receive a notification twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"


class AttemptResult(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    RATE_LIMITED = "rate_limited"  # delayed by the channel's rate limit (then sent)


@dataclass(frozen=True, slots=True)
class Decision:
    send: bool
    next_attempt: int  # number of the next attempt (1-based, over the record's life)
    reason: str


def last_attempt_number(record: Mapping[str, Any]) -> int:
    numbers = [int(a.get("n", 0)) for a in record.get("attempts", ())
               if isinstance(a, Mapping) and a.get("result") != AttemptResult.RATE_LIMITED]
    return max([int(record.get("sending_attempt") or 0), *numbers])


def decide(record: Mapping[str, Any] | None) -> Decision:
    """Whether a notification must be sent to a channel, given its delivery record."""
    if record is None:
        return Decision(True, 1, "new")
    last = last_attempt_number(record)
    status = record.get("status")
    if status == DeliveryStatus.DELIVERED:
        return Decision(False, last + 1, "already delivered")
    if status == DeliveryStatus.SENDING:
        return Decision(True, last + 1,
                        f"attempt {last} has no outcome (the worker stopped during the send); "
                        "sending again")
    if status == DeliveryStatus.FAILED:
        return Decision(True, last + 1, f"failed after {last} attempts before; trying again")
    return Decision(True, last + 1, "retrying")


def attempt_entry(n: int, at: float, result: AttemptResult, error: str | None = None,
                  delay_s: float | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"n": n, "at": at, "result": result.value, "error": error}
    if delay_s is not None:
        entry["delay_s"] = round(delay_s, 3)
    return entry


def status_after(result: AttemptResult, exhausted: bool) -> DeliveryStatus:
    """Record status after an attempt's outcome (``exhausted``: no attempt left)."""
    if result is AttemptResult.DELIVERED:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.FAILED if exhausted else DeliveryStatus.RETRYING
