"""Notification channels from an Apprise YAML config file, and sending to one of them.

The file is Apprise's own YAML configuration format (``version``, ``tag``, ``asset``,
``groups``, ``urls``). logwarden adds one rule: every entry under ``urls`` is one
channel, with exactly one URL, at least one tag (routing), and a stable name under the
key ``lw_channel`` (delivery records and rate limits are keyed by it; it is removed
before Apprise reads the entry)::

    version: 1
    urls:
      - mailto://127.0.0.1:1025?mode=insecure&from=logwarden@example.test&to=ops@example.test:
          tag: ops, email
          lw_channel: ops-email
      - json://127.0.0.1:8099/hooks/alerts:
          tag: ops, webhook
          lw_channel: ops-webhook

Each entry is loaded by ``apprise.AppriseConfig`` on its own, so a mistake is reported
with the file, the entry number and the channel name, plus what Apprise logged about it
(Apprise skips a bad entry with a log line rather than raising).

Sending: ``await Apprise.async_notify(...)`` returns a result rather than raising; a
failure's reason is the warning/error text Apprise logged during that call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apprise
import yaml

from app.core.delivery import Channel, Message, kind_of_scheme
from app.core.delivery.channels import CHANNEL_NAME

log = logging.getLogger(__name__)

NAME_KEY = "lw_channel"
#: top-level keys of an Apprise YAML file that every entry shares
_SHARED_KEYS = ("version", "tag", "tags", "asset", "groups")


class ChannelConfigError(ValueError):
    """The Apprise config file is unusable; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    error: str | None  # Apprise's own words when it failed


@dataclass(frozen=True, slots=True)
class _Loaded:
    channel: Channel
    notifier: apprise.Apprise
    url: str  # privacy-safe URL (for logs and ``notify test``)


class AppriseChannels:
    """The channels of one config file; ``send`` delivers a message to one of them."""

    def __init__(self, loaded: Sequence[_Loaded], source: Path) -> None:
        self._loaded = {item.channel.name: item for item in loaded}
        self.source = source

    @property
    def channels(self) -> list[Channel]:
        return [item.channel for item in self._loaded.values()]

    def url(self, name: str) -> str:
        return self._loaded[name].url

    async def send(self, name: str, message: Message, *, timeout_s: float = 30.0) -> SendResult:
        notifier = self._loaded[name].notifier
        try:
            result = await notifier.async_notify(
                body=message.body, title=message.title,
                notify_type=apprise.NotifyType(message.notify_type),
                body_format=message.body_format, timeout=timeout_s)
        except Exception as exc:  # Apprise reports failures in its result; be safe anyway
            return SendResult(False, f"{type(exc).__name__}: {exc}")
        with result:
            if result:
                return SendResult(True, None)
            reasons = [entry.message for entry in result.logs()
                       if entry.level in ("WARNING", "ERROR", "CRITICAL")]
            return SendResult(False, "; ".join(reasons) or f"Apprise: {result.status.name}")


def load_channels(path: Path, *, rate_per_minute: float,
                  channel_rates: Mapping[str, float] | None = None) -> AppriseChannels:
    """Read ``path`` (Apprise YAML); raise ``ChannelConfigError`` naming file and entry."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChannelConfigError(f"{path}: cannot read the Apprise config: {exc}") from None
    except yaml.YAMLError as exc:
        raise ChannelConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("urls"), list) or not doc["urls"]:
        raise ChannelConfigError(f"{path}: expected an Apprise YAML config with a non-empty "
                                 "'urls:' list")
    shared = {key: doc[key] for key in _SHARED_KEYS if key in doc}
    rates = dict(channel_rates or {})
    loaded: list[_Loaded] = []
    for number, entry in enumerate(doc["urls"], 1):
        item = _load_entry(path, number, entry, shared, rate_per_minute, rates)
        if item.channel.name in {x.channel.name for x in loaded}:
            raise ChannelConfigError(f"{path}: entry #{number}: channel name "
                                     f"{item.channel.name!r} is used twice")
        loaded.append(item)
    unknown = sorted(set(rates) - {x.channel.name for x in loaded})
    if unknown:
        raise ChannelConfigError(f"{path}: rate overrides name unknown channel(s) "
                                 f"{', '.join(unknown)}")
    return AppriseChannels(loaded, path)


def _load_entry(path: Path, number: int, entry: Any, shared: dict[str, Any],
                default_rate: float, rates: Mapping[str, float]) -> _Loaded:
    where = f"{path}: entry #{number}"
    if not isinstance(entry, dict):
        raise ChannelConfigError(f"{where}: write the URL as a mapping key with "
                                 f"'tag:' and '{NAME_KEY}:' under it")
    body = dict(entry)
    urls = [key for key in body if isinstance(key, str) and "://" in key]
    if len(urls) != 1:
        raise ChannelConfigError(f"{where}: one channel is exactly one URL, found {len(urls)}")
    options = body[urls[0]]
    if isinstance(options, list):
        raise ChannelConfigError(f"{where}: a list of settings makes several channels of one "
                                 "URL; write one entry per channel")
    if isinstance(options, dict):  # child form: settings indented under the URL
        options = dict(options)
        name = options.pop(NAME_KEY, None)
        body[urls[0]] = options
    else:
        name = None
    name = body.pop(NAME_KEY, name)  # sibling form
    if not isinstance(name, str) or not CHANNEL_NAME.match(name):
        raise ChannelConfigError(f"{where}: '{NAME_KEY}:' must name the channel "
                                 f"({CHANNEL_NAME.pattern}), got {name!r}")
    where = f"{where} ({NAME_KEY} {name})"
    content = yaml.safe_dump({**shared, "urls": [body]}, sort_keys=False)
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        config = apprise.AppriseConfig()
        config.add_config(content, format="yaml")
        services = config.services()
    if len(services) != 1:
        said = " | ".join(line.split(" - ", 2)[-1] for line in
                          str(captured.getvalue()).splitlines() if line.strip())
        raise ChannelConfigError(f"{where}: Apprise could not load it: {said or 'no service'}")
    service = services[0]
    tags = frozenset(str(tag) for tag in service.tags)
    if not tags:
        raise ChannelConfigError(f"{where}: no 'tag:'; a channel without tags never receives "
                                 "a notification")
    url = service.url(privacy=True)  # type: ignore[no-untyped-call]
    notifier = apprise.Apprise()
    notifier.add(service)
    rate = rates.get(name, default_rate)
    channel = Channel(name=name, kind=kind_of_scheme(url.split("://", 1)[0]), tags=tags,
                      rate_per_minute=rate)
    return _Loaded(channel, notifier, url)
