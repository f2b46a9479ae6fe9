"""The narrow context a plugin agent gets instead of the whole application.

``register(ctx)`` declares agents, tables and topics through it; every Faust name is
prefixed with the plugin's name (agents ``<plugin>.<name>``, tables ``<plugin>-<name>``,
topics ``<app id>-<plugin>-<name>``) so plugins cannot collide with each other or with
logwarden. Tables and internal topics get the host's partition count, so a table is
co-partitioned with the topic it is written from (FAUST.md §7).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from prometheus_client import Counter

from app.core.deadletter import DeadLetter
from app.core.errors import ProcessorError
from app.plugins import registry
from app.plugins.contracts import AgentPlugin, PluginConfig, Sink

Record = tuple[Any, bytes, bytes]  # topic, key, value (as agents.publish)

_COUNTERS: dict[str, Counter] = {}  # prometheus forbids registering a name twice


class PluginMetrics:
    """Prometheus metrics named ``logwarden_plugin_<plugin>_<name>`` (served on /metrics)."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin

    def counter(self, name: str, documentation: str,
                labelnames: Sequence[str] = ()) -> Counter:
        full = f"logwarden_plugin_{self.plugin}_{name}"
        counter = _COUNTERS.get(full)
        if counter is None:
            counter = _COUNTERS[full] = Counter(full, documentation, list(labelnames))
        return counter

    def records_in(self, agent: str, count: int = 1) -> None:
        """Count records taken (``logwarden_records_in_total{agent="<plugin>.<agent>"}``)."""
        from app.metrics import RECORDS_IN

        RECORDS_IN.labels(f"{self.plugin}.{agent}").inc(count)

    def events_out(self, agent: str, count: int = 1) -> None:
        from app.metrics import EVENTS_OUT

        EVENTS_OUT.labels(f"{self.plugin}.{agent}").inc(count)


class PluginStageError(ProcessorError):
    """A record a plugin agent could not process (dead-lettered with stage ``plugin``)."""

    stage = "plugin"


class PluginContext:
    """What a plugin agent may use: its topics, tables, the DLQ, sinks, metrics, settings."""

    def __init__(self, *, app: Any, plugin: AgentPlugin, config: PluginConfig,
                 host_topics: Mapping[str, Any], partitions: int,
                 publish: Callable[..., Any] | None = None,
                 dead_letters: Callable[[list[DeadLetter]], Any] | None = None,
                 host_settings: Any = None) -> None:
        self._app = app
        self.plugin = plugin
        self.name = plugin.name
        self.settings = config  # the plugin's own validated section
        self.partitions = partitions
        self.input_topic = host_topics[plugin.input]
        self.metrics = PluginMetrics(plugin.name)
        self.log = logging.getLogger(f"logwarden.plugins.{plugin.name}")
        self._publish = publish
        self._declare = publish is None  # a test harness captures sends: nothing to create
        self._dead_letters = dead_letters
        self._host_settings = host_settings
        self._declared: set[Any] = set()
        self._to_declare: list[Any] = []
        self.agents: dict[str, Any] = {}
        self.tables: dict[str, Any] = {}
        self.topics: dict[str, Any] = {}
        output = config.output_topic or plugin.output
        self.output_topic = None if output is None else self._declare_topic(output)
        if self._declare:
            # create the plugin's topics when the worker starts, with the host's partition
            # count: a consumer subscribing before the first send would otherwise have the
            # broker auto-create one with its default (1 partition)
            app.task(self._declare_topics)

    async def _declare_topics(self) -> None:
        for topic in self._to_declare:
            if topic not in self._declared:
                await topic.maybe_declare()
                self._declared.add(topic)

    # -- declaring --------------------------------------------------------------------
    def topic(self, name: str) -> Any:
        """A topic of the plugin's own, ``<app id>-<plugin>-<name>``, raw bytes in and out,
        with the host's partition count (created when the worker starts)."""
        topic = self._declare_topic(f"{self._app.conf.id}-{self.name}-{name}", internal=True)
        self.topics[name] = topic
        return topic

    def _declare_topic(self, full_name: str, *, internal: bool = False) -> Any:
        topic = self._app.topic(full_name, key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw",
                                partitions=self.partitions, internal=internal)
        self._to_declare.append(topic)
        return topic

    def table(self, name: str, *, default: Callable[[], Any] | None = None,
              help: str = "") -> Any:
        """A changelogged table ``<plugin>-<name>``, str keys, JSON values, with the host's
        partition count: write it from the agent that reads the topic its keys are
        partitioned by (each write's changelog partition is the current event's)."""
        full = f"{self.name}-{name}"
        table = self._app.Table(full, default=default, partitions=self.partitions,
                                key_type=str, help=help)  # keys and values: JSON
        self.tables[name] = table
        return table

    def agent(self, channel: Any, *, name: str, **options: Any) -> Callable[[Any], Any]:
        """``@ctx.agent(topic, name="detect")``: a Faust agent named ``<plugin>.<name>``."""
        def decorate(fun: Any) -> Any:
            agent = self._app.agent(channel, name=f"{self.name}.{name}", **options)(fun)
            self.agents[name] = agent
            return agent
        return decorate

    def timer(self, interval: float) -> Callable[[Any], Any]:
        """``@ctx.timer(10.0)``: a periodic task on every worker (no table writes in it)."""
        def decorate(fun: Any) -> Any:
            return self._app.timer(interval, name=f"{self.name}.{fun.__name__}")(fun)
        return decorate

    # -- running ----------------------------------------------------------------------
    def batches(self, stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
        """``async for batch in ctx.batches(stream, 500, within=0.5)``: lists of Faust
        events, each acknowledged only after the loop body that got it finished (Faust's
        ``take_events`` acknowledges a batch even when a stop or rebalance interrupts it,
        which commits events that were never processed: ``agents/batches.py``)."""
        from agents.batches import acked_batches

        return acked_batches(stream, max_, within)

    async def publish(self, records: Sequence[Record], *, what: str | None = None) -> None:
        """Send ``(topic, key, value)`` records and wait until Kafka acknowledged all of
        them (retried with backoff until it does, as logwarden's own agents do)."""
        if self._declare:
            await self._declare_topics()  # a no-op once the start-up task has run
        if self._publish is None:
            from agents.publish import publish as host_publish

            self._publish = host_publish
        await self._publish(records, what=what or self.name)

    async def dead_letter(self, exc: ProcessorError, event: Any) -> None:
        """Send the record behind Faust ``event`` to the dead-letter topic with ``exc``'s
        reason (stage ``plugin`` unless the error says otherwise)."""
        msg = event.message
        letter = DeadLetter.from_error(exc, event.value or b"", topic=msg.topic,
                                       partition=msg.partition, offset=msg.offset, index=0,
                                       first_seen=msg.timestamp or time.time())
        if self._dead_letters is None:
            from agents.deadletters import send_dead_letters

            self._dead_letters = send_dead_letters
        await self._dead_letters([letter])

    def sink(self, name: str) -> Sink:
        """A new sink of the ``logwarden.sinks`` extension ``name`` (close it when done)."""
        return new_sink(name, self._host_settings)


def new_sink(name: str, settings: Any) -> Sink:
    """A new sink of the ``logwarden.sinks`` extension ``name``, built from the host's
    settings: the one way built-in agents and plugins get a sink."""
    ext = registry().get("sinks", name)
    if ext is None:
        msg = f"no sink named {name!r} (known: {', '.join(registry().names('sinks'))})"
        raise KeyError(msg)
    factory = ext.load()
    sink: Sink = factory(settings)
    return sink
