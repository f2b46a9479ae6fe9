"""Notification channels from an Apprise YAML config file, each sent by a notifier.

The file is Apprise's own YAML configuration format (``version``, ``tag``, ``asset``,
``groups``, ``urls``). logwarden adds one rule: every entry under ``urls`` is one
channel, with at least one tag (routing) and a stable name under the key ``lw_channel``
(delivery records and rate limits are keyed by it; it is removed before the notifier
reads the entry). Every channel is sent by a *notifier* looked up by name in the
``logwarden.notifiers`` entry-point group (``app.plugins.registry``):

- an entry keyed by a URL is an Apprise channel: the built-in notifier ``apprise``
  (``AppriseNotifier``), exactly one URL per entry;
- an entry with ``lw_notifier: NAME`` (and no URL) is sent by that notifier: its other
  keys, except ``tag``/``tags``, are the notifier's options (``from_config(options)``)::

    version: 1
    urls:
      - mailto://127.0.0.1:1025?mode=insecure&from=logwarden@example.test&to=ops@example.test:
          tag: ops, email
          lw_channel: ops-email
      - json://127.0.0.1:8099/hooks/alerts:
          tag: ops, webhook
          lw_channel: ops-webhook
      - lw_notifier: jsonl               # logwarden-security's notifier
        lw_channel: security-file
        tag: security
        path: /var/log/logwarden/security-notifications.jsonl

Each entry is loaded on its own, so a mistake (an unknown notifier, a bad option, a URL
Apprise cannot load) is reported with the file, the entry number and the channel name.

Sending: ``Channels.send`` awaits the notifier's ``send(notification)`` within the send
timeout and turns whatever it raises into a failed ``SendResult`` (a failing plugin is a
failed attempt, never a crash). ``AppriseNotifier.send`` raises with what Apprise logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import apprise
import yaml
from pydantic import BaseModel, ConfigDict, Field

from app.core.delivery import Channel, ChannelKind, format_message, kind_of_scheme
from app.core.delivery.channels import CHANNEL_NAME
from app.core.delivery.notifier import Notifier
from app.core.notification import Notification
from app.plugins import PluginLoadFailed, failed_names, registry

log = logging.getLogger(__name__)

NAME_KEY = "lw_channel"
NOTIFIER_KEY = "lw_notifier"
BUILTIN = "apprise"
#: top-level keys of an Apprise YAML file that every entry shares
_SHARED_KEYS = ("version", "tag", "tags", "asset", "groups")
_TAG_KEYS = ("tag", "tags")
_TAG_SPLIT = re.compile(r"[\s,]+")

#: notifier name -> notifier class (the ``logwarden.notifiers`` group by default)
NotifierLookup = Callable[[str], type[Notifier]]


class ChannelConfigError(ValueError):
    """The channels file is unusable; the message names the file and the entry."""


class NotifierError(RuntimeError):
    """A send failed (what a notifier raises to make delivery retry)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    error: str | None  # the notifier's own words when it failed


class AppriseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: an Apprise YAML document with exactly one entry under ``urls``
    document: dict[str, Any]
    timeout_s: float = Field(30.0, gt=0)


class AppriseNotifier:
    """The built-in notifier ``apprise``: one Apprise URL (mail, webhook, chat...).

    The message is formatted for the URL's kind (``format_message``): e-mail gets a
    subject and Markdown, ``json://`` the notification itself as JSON text.
    """

    name: ClassVar[str] = BUILTIN
    Config: ClassVar[type[BaseModel]] = AppriseOptions

    def __init__(self, service: Any, timeout_s: float) -> None:
        self._apprise = apprise.Apprise()
        self._apprise.add(service)
        self.url: str = service.url(privacy=True)  # privacy-safe (logs, ``notify test``)
        self.tags = frozenset(str(tag) for tag in service.tags)
        self.kind = kind_of_scheme(self.url.split("://", 1)[0])
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> AppriseNotifier:
        config = AppriseOptions.model_validate(dict(options))
        content = yaml.safe_dump(config.document, sort_keys=False)
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            loader = apprise.AppriseConfig()
            loader.add_config(content, format="yaml")
            services = loader.services()
        if len(services) != 1:
            said = " | ".join(line.split(" - ", 2)[-1] for line in
                              str(captured.getvalue()).splitlines() if line.strip())
            raise ValueError(f"Apprise could not load it: {said or 'no service'}")
        return cls(services[0], config.timeout_s)

    async def send(self, notification: Notification) -> None:
        message = format_message(notification, self.kind)
        result = await self._apprise.async_notify(
            body=message.body, title=message.title,
            notify_type=apprise.NotifyType(message.notify_type),
            body_format=message.body_format, timeout=self.timeout_s)
        with result:
            if result:
                return
            reasons = [entry.message for entry in result.logs()
                       if entry.level in ("WARNING", "ERROR", "CRITICAL")]
            raise NotifierError("; ".join(reasons) or f"Apprise: {result.status.name}")


@dataclass(frozen=True, slots=True)
class _Loaded:
    channel: Channel
    notifier: Notifier
    url: str  # privacy-safe target (for logs and ``notify test``)


class Channels:
    """The channels of one config file; ``send`` delivers a notification to one of them."""

    def __init__(self, loaded: Sequence[_Loaded], source: Path) -> None:
        self._loaded = {item.channel.name: item for item in loaded}
        self.source = source

    @property
    def channels(self) -> list[Channel]:
        return [item.channel for item in self._loaded.values()]

    def url(self, name: str) -> str:
        return self._loaded[name].url

    async def send(self, name: str, notification: Notification, *,
                   timeout_s: float = 30.0) -> SendResult:
        """One send through the channel's notifier; every failure is a result."""
        try:
            await asyncio.wait_for(self._loaded[name].notifier.send(notification), timeout_s)
        except TimeoutError:
            return SendResult(False, f"no answer within {timeout_s:g}s")
        except Exception as exc:  # a notifier (plugin code) may raise anything
            return SendResult(False, f"{type(exc).__name__}: {exc}")
        return SendResult(True, None)


def registered_notifier(name: str) -> type[Notifier]:
    """The notifier class registered as ``name`` in ``logwarden.notifiers``."""
    ext = registry().get("notifiers", name)
    if ext is None:
        failed = failed_names("notifiers")
        raise LookupError(f"no notifier {name!r} is registered (logwarden.notifiers: "
                          f"{', '.join(registry().names('notifiers')) or 'none'}"
                          f"{'; failed: ' + failed if failed else ''})")
    try:
        cls: type[Notifier] = ext.load()
    except PluginLoadFailed as exc:
        raise LookupError(str(exc)) from None
    return cls


def load_channels(path: Path, *, rate_per_minute: float,
                  channel_rates: Mapping[str, float] | None = None,
                  send_timeout_s: float = 30.0,
                  notifiers: NotifierLookup = registered_notifier) -> Channels:
    """Read ``path``; raise ``ChannelConfigError`` naming the file and the entry."""
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
        where = f"{path}: entry #{number}"
        if not isinstance(entry, dict):
            raise ChannelConfigError(f"{where}: write the URL as a mapping key with "
                                     f"'tag:' and '{NAME_KEY}:' under it")
        kind = entry.get(NOTIFIER_KEY, BUILTIN)
        if kind == BUILTIN:
            name, notifier, tags = _apprise_entry(where, entry, shared, send_timeout_s, notifiers)
        else:
            name, notifier, tags = _plugin_entry(where, entry, shared, notifiers)
        if name in {x.channel.name for x in loaded}:
            raise ChannelConfigError(f"{where}: channel name {name!r} is used twice")
        target = getattr(notifier, "url", None) or f"{NOTIFIER_KEY} {kind}"
        channel_kind = (notifier.kind if isinstance(notifier, AppriseNotifier)
                        else ChannelKind.TEXT)
        channel = Channel(name=name, kind=channel_kind, tags=tags,
                          rate_per_minute=rates.get(name, rate_per_minute), notifier=kind)
        loaded.append(_Loaded(channel, notifier, target))
    unknown = sorted(set(rates) - {x.channel.name for x in loaded})
    if unknown:
        raise ChannelConfigError(f"{path}: rate overrides name unknown channel(s) "
                                 f"{', '.join(unknown)}")
    return Channels(loaded, path)


def _channel_name(where: str, name: Any) -> str:
    if not isinstance(name, str) or not CHANNEL_NAME.match(name):
        raise ChannelConfigError(f"{where}: '{NAME_KEY}:' must name the channel "
                                 f"({CHANNEL_NAME.pattern}), got {name!r}")
    return name


def _build(where: str, kind: str, options: Mapping[str, Any],
           notifiers: NotifierLookup) -> Notifier:
    """``notifiers(kind).from_config(options)``; every failure names the entry."""
    try:
        cls = notifiers(kind)
    except LookupError as exc:
        raise ChannelConfigError(f"{where}: {exc.args[0] if exc.args else exc}") from None
    try:
        return cls.from_config(options)
    except Exception as exc:  # plugin code: a bad option or any other error
        said = str(exc) if kind == BUILTIN else f"notifier {kind!r}: {exc}"
        raise ChannelConfigError(f"{where}: {said}") from None


def _apprise_entry(where: str, entry: dict[str, Any], shared: dict[str, Any],
                   timeout_s: float, notifiers: NotifierLookup
                   ) -> tuple[str, Notifier, frozenset[str]]:
    body = dict(entry)
    body.pop(NOTIFIER_KEY, None)
    urls = [key for key in body if isinstance(key, str) and "://" in key]
    if len(urls) != 1:
        raise ChannelConfigError(f"{where}: one channel is exactly one URL, found {len(urls)}"
                                 f" (or name a notifier with '{NOTIFIER_KEY}:')")
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
    name = _channel_name(where, body.pop(NAME_KEY, name))  # sibling form
    where = f"{where} ({NAME_KEY} {name})"
    notifier = _build(where, BUILTIN, {"document": {**shared, "urls": [body]},
                                       "timeout_s": timeout_s}, notifiers)
    if isinstance(notifier, AppriseNotifier):
        notifier_tags = notifier.tags
    else:  # another class registered as "apprise": the file's tags
        notifier_tags = _tags_of(entry, shared)
    if not notifier_tags:
        raise ChannelConfigError(f"{where}: no 'tag:'; a channel without tags never receives "
                                 "a notification")
    return name, notifier, notifier_tags


def _plugin_entry(where: str, entry: dict[str, Any], shared: dict[str, Any],
                  notifiers: NotifierLookup) -> tuple[str, Notifier, frozenset[str]]:
    kind = entry[NOTIFIER_KEY]
    if not isinstance(kind, str):
        raise ChannelConfigError(f"{where}: '{NOTIFIER_KEY}:' must name a notifier, "
                                 f"got {kind!r}")
    if any(isinstance(key, str) and "://" in key for key in entry):
        raise ChannelConfigError(f"{where}: '{NOTIFIER_KEY}: {kind}' takes options, not a URL "
                                 "(a URL entry is an Apprise channel)")
    name = _channel_name(where, entry.get(NAME_KEY))
    where = f"{where} ({NAME_KEY} {name})"
    tags = _tags_of(entry, shared)
    if not tags:
        raise ChannelConfigError(f"{where}: no 'tag:'; a channel without tags never receives "
                                 "a notification")
    options = {key: value for key, value in entry.items()
               if key not in (NAME_KEY, NOTIFIER_KEY, *_TAG_KEYS)}
    return name, _build(where, kind, options, notifiers), tags


def _tags_of(entry: Mapping[str, Any], shared: Mapping[str, Any]) -> frozenset[str]:
    """``tag:``/``tags:`` of the entry and of the file ("a, b" or a list), as Apprise reads."""
    found: set[str] = set()
    for source in (shared, entry):
        for key in _TAG_KEYS:
            value = source.get(key)
            items = value if isinstance(value, list) else [value] if value else []
            found.update(tag for item in items for tag in _TAG_SPLIT.split(str(item)) if tag)
    return frozenset(found)
