"""What a channel receives: title, body, body format and Apprise notify type."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.delivery.channels import ChannelKind
from app.core.notification import Notification

#: severity -> Apprise notify type (``info``, ``success``, ``warning``, ``failure``)
_SEVERITY_TYPES = {"critical": "failure", "error": "failure", "warning": "warning",
                   "info": "info"}


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    body_format: str  # Apprise body format: "markdown" or "text"
    notify_type: str


def notify_type(notification: Notification) -> str:
    """Apprise notify type: resolved is ``success``, else from ``severity``."""
    if notification.kind == "resolved":
        return "success"
    return _SEVERITY_TYPES.get(notification.severity.lower(), "warning")


def format_message(notification: Notification, kind: ChannelKind) -> Message:
    ntype = notify_type(notification)
    if kind is ChannelKind.JSON:
        # machine receivers get the whole notification (key included, to dedupe on)
        return Message(notification.title, notification.to_json().decode(), "text", ntype)
    footer = (f"\n\n---\n\nlogwarden {notification.kind} · group {notification.group}"
              f" · key {notification.key}")
    return Message(notification.title, notification.body + footer, "markdown", ntype)
