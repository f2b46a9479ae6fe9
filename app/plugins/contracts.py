"""What the entry point of each extension point must name: the plugin API.

Import from here (and ``app.plugins.context`` for the agent context), never from
``app.faust_app``: a plugin that builds on these stays valid across internal changes.

- ``logwarden.parsers``: a ``ParserFactory``, ``(timezone: str) -> Parser``, called once
  per (format, zone);
- ``logwarden.enrichers``: an ``EnricherFactory``, ``(options: Mapping | None) ->
  Enricher``, called once per pipeline;
- ``logwarden.agents``: an ``AgentPlugin`` (logwarden's own agents: a module), at worker
  start;
- ``logwarden.rule_types``: a ``RuleType`` subclass (the alert engine's own base class,
  ``app.core.alerting.types.base``: ``Config`` a ``RuleConfig``, ``observe``/``tick``
  return a ``Verdict``); ``logwarden.notifiers``: a ``Notifier`` class (delivery's own
  contract, ``app.core.delivery.notifier``; the built-in ``apprise`` is one);
- ``logwarden.sinks``: a ``SinkFactory``, ``(settings: Settings) -> Sink``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from app.core.alerting.durations import format_duration, positive_duration
from app.core.alerting.types.base import RuleType, State, Verdict
from app.core.alerting.types.base import TypeConfig as RuleConfig
from app.core.delivery.notifier import Notifier
from app.core.enrichment.registry import EnricherFactory
from app.core.parsing.catalog import ParserFactory

if TYPE_CHECKING:
    from app.plugins.context import PluginContext
    from app.settings import Settings

__all__ = ["AgentPlugin", "EnricherFactory", "HostTopic", "Notifier", "Observation",
           "ParserFactory", "PluginConfig", "RuleConfig", "RuleType", "Sink", "SinkFactory",
           "State", "Verdict", "format_duration", "positive_duration"]

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: the host topics a plugin agent may read (fields of ``settings.topics``)
HostTopic = Literal["raw", "events", "dlq", "windows_closed"]


class PluginConfig(BaseModel):
    """Base of a plugin agent's settings section ``plugins.<name>`` (unknown keys fail).

    ``output_topic`` overrides the agent's default output topic name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    output_topic: str | None = None


@dataclass(frozen=True)
class AgentPlugin:
    """A plugin agent: what ``logwarden.agents`` entry points of plugins name.

    ``register(ctx)`` runs once at worker start and declares the plugin's agents, tables
    and topics through ``ctx`` (``app.plugins.context.PluginContext``); it must not
    import ``app.faust_app``. ``name`` is the entry-point name, the settings section
    ``plugins.<name>`` (validated with ``config``) and the prefix of every Faust name
    the plugin declares (agents, tables, topics).
    """

    name: str
    version: str
    register: Callable[[PluginContext], None]
    config: type[PluginConfig] = PluginConfig
    input: HostTopic = "events"
    output: str | None = None  # default output topic (``plugins.<name>.output_topic`` wins)
    description: str = ""

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            msg = (f"plugin name {self.name!r}: lowercase letters, digits and _ "
                   f"(it names a settings section and Kafka topics)")
            raise ValueError(msg)
        if not issubclass(self.config, PluginConfig):
            msg = f"plugin {self.name!r}: config must subclass app.plugins.contracts.PluginConfig"
            raise TypeError(msg)


@dataclass(frozen=True, slots=True)
class Observation:
    """What a rule type reports when its condition holds (pure data, JSON-able)."""

    value: float  # the measured value (a count, a rate...)
    threshold: float  # what it was compared with
    labels: Mapping[str, str]  # group labels, e.g. {"source_ip": "203.0.113.9"}
    summary: str  # one line for the notification title
    evidence: Mapping[str, Any] = field(default_factory=dict)  # samples, top values...


class Sink(Protocol):
    """Where an agent writes documents in batches (``logwarden.sinks``)."""

    async def write(self, docs: list[dict[str, Any]]) -> Sequence[tuple[dict[str, Any], str]]:
        """Write ``docs`` (retrying what is retryable); return those refused for good."""
        ...

    async def close(self) -> None: ...


SinkFactory = Callable[["Settings"], Sink]
