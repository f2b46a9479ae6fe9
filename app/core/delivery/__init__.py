"""Delivering notifications (pure): which channels, when to retry, how fast, what to send.

The notify agent (``agents/notify.py``) wires these to Apprise and MongoDB; nothing here
does I/O or reads a clock (time is a parameter).
"""

from app.core.delivery.channels import Channel, ChannelKind, kind_of_scheme, select_channels
from app.core.delivery.format import Message, format_message, notify_type
from app.core.delivery.ratelimit import RateLimiter, TokenBucket
from app.core.delivery.records import (
    AttemptResult,
    Decision,
    DeliveryStatus,
    attempt_entry,
    decide,
)
from app.core.delivery.retry import RetryPolicy

__all__ = [
    "AttemptResult",
    "Channel",
    "ChannelKind",
    "Decision",
    "DeliveryStatus",
    "Message",
    "RateLimiter",
    "RetryPolicy",
    "TokenBucket",
    "attempt_entry",
    "decide",
    "format_message",
    "kind_of_scheme",
    "notify_type",
    "select_channels",
]
