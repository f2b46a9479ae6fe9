"""Testing a plugin agent without Kafka: a fresh Faust app, captured sends.

::

    from app.plugins.testing import PluginHarness

    async def test_spray():
        harness = PluginHarness(plugin, {"min_users": 3})
        await harness.run("route", [(b"vpn", events_json)])
        routed = harness.sent_to(harness.ctx.topics["failures"].get_topic_name())
        await harness.run("detect", [(key, value) for _, key, value in routed])
        assert harness.sent_to("security.findings")

Each harness has its own ``faust.App`` (memory store), so tables start empty. What the
agents publish (``ctx.publish``) and dead-letter (``ctx.dead_letter``) is kept in
``published`` and ``dead_letters`` instead of reaching Kafka. ``ctx.sink(name)`` builds
real sinks from ``settings`` (default: the environment's settings).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import faust

from app.core.deadletter import DeadLetter
from app.plugins.context import PluginContext
from app.plugins.contracts import AgentPlugin
from app.settings import Settings, load_settings

HOST_TOPICS = ("raw", "events", "dlq", "windows_closed")


class PluginHarness:
    """One plugin registered on a throwaway app; run its agents with ``run``."""

    def __init__(self, plugin: AgentPlugin, section: Mapping[str, Any] | None = None, *,
                 partitions: int = 1, settings: Settings | None = None) -> None:
        self.app = faust.App(f"plugin-test-{plugin.name}-{uuid.uuid4().hex[:8]}",
                             store="memory://", autodiscover=False, topic_partitions=partitions)
        self.host_topics = {
            name: self.app.topic(f"test.{name}", key_type=bytes, value_type=bytes,
                                 key_serializer="raw", value_serializer="raw")
            for name in HOST_TOPICS}
        self.published: list[tuple[str, bytes, bytes]] = []
        self.dead_letters: list[DeadLetter] = []
        self.ctx = PluginContext(app=self.app, plugin=plugin,
                                 config=plugin.config.model_validate(dict(section or {})),
                                 host_topics=self.host_topics, partitions=partitions,
                                 publish=self._publish, dead_letters=self._dead_letter,
                                 host_settings=settings if settings is not None
                                 else load_settings())
        plugin.register(self.ctx)
        self.app.finalize()
        self.app.flow_control.resume()

    async def _publish(self, records: Sequence[tuple[Any, bytes, bytes]], *, what: str) -> None:
        self.published += [(topic.get_topic_name(), key, value) for topic, key, value in records]

    async def _dead_letter(self, letters: list[DeadLetter]) -> None:
        self.dead_letters += letters

    def sent_to(self, topic: str) -> list[tuple[str, bytes, bytes]]:
        return [record for record in self.published if record[0] == topic]

    async def run(self, agent: str, messages: Iterable[tuple[bytes | None, bytes]],
                  *, partition: int = 0) -> None:
        """Feed ``(key, value)`` messages to the plugin agent ``agent`` and wait for it."""
        async with self.ctx.agents[agent].test_context() as running:
            for key, value in messages:
                await running.put(value, key=key, partition=partition)
