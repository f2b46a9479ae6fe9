"""Channels (one entry of the channels file each) and routing a notification to them by tag."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

#: A channel name: also a MongoDB field and a Prometheus label value.
CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class ChannelKind(StrEnum):
    """How an Apprise channel's message is formatted (other notifiers get the notification)."""

    EMAIL = "email"  # mailto://, mailtos://: subject + Markdown body (HTML part)
    JSON = "json"  # json://, jsons://: the notification itself as JSON text in "message"
    TEXT = "text"  # anything else Apprise supports (chat, push): title + Markdown body


_KINDS = {"mailto": ChannelKind.EMAIL, "mailtos": ChannelKind.EMAIL,
          "json": ChannelKind.JSON, "jsons": ChannelKind.JSON}


def kind_of_scheme(scheme: str) -> ChannelKind:
    return _KINDS.get(scheme.lower(), ChannelKind.TEXT)


@dataclass(frozen=True, slots=True)
class Channel:
    name: str  # stable: delivery records and rate limits are keyed by it
    kind: ChannelKind
    tags: frozenset[str]
    rate_per_minute: float
    notifier: str = "apprise"  # the ``logwarden.notifiers`` name that sends it

    def matches(self, routes: Iterable[str]) -> bool:
        return not self.tags.isdisjoint(routes)


def select_channels(channels: Iterable[Channel], routes: Iterable[str]) -> list[Channel]:
    """Channels having any of ``routes`` among their tags, in configuration order."""
    wanted = frozenset(routes)
    return [channel for channel in channels if channel.matches(wanted)]
