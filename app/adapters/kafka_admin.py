"""Create logwarden's topics before a worker subscribes to them.

Faust silently subscribes to nothing when a source topic does not exist yet, so the
worker command makes sure every topic exists, with the configured partition count.
"""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app.settings import Settings

log = logging.getLogger(__name__)


def topic_names(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.raw, t.events, t.dlq, t.windows_closed, t.notifications_outbox, t.alerts_keyed,
            t.alerts_transitions, t.alerts_silences]


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic-level configs of topics that need them (silences: latest state per id)."""
    return {settings.topics.alerts_silences: {"cleanup.policy": "compact"}}


async def ensure_topics(settings: Settings) -> dict[str, int]:
    """Create missing topics; return every topic's partition count.

    An existing topic with a different partition count is reported, not changed:
    repartitioning a topic of record is an operator's decision.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers,
                                request_timeout_ms=15_000)
    await admin.start()
    try:
        wanted = topic_names(settings)
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=settings.kafka.partitions,
                     replication_factor=settings.kafka.replication_factor,
                     topic_configs=topic_configs(settings).get(name, {}))
            for name in wanted if name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
            log.info("created topics %s", ", ".join(t.name for t in missing))
        described = await admin.describe_topics(wanted)
        counts = {d["topic"]: len(d["partitions"]) for d in described}
        for name, count in counts.items():
            if count != settings.kafka.partitions:
                log.warning("topic %s has %d partitions, settings say %d", name, count,
                            settings.kafka.partitions)
        return counts
    finally:
        await admin.close()
