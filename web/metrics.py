"""What ``/metrics`` adds to the pipeline's own metrics (``app.metrics``).

``/metrics`` itself is a Faust page serving the Prometheus registry (``app.faust_app``),
without authentication when ``web.metrics_public`` is true (default) and to any
authenticated principal with at least the viewer role otherwise. This module registers:

- a Faust sensor timing each Kafka message from receipt by the consumer until every
  agent reading it acknowledged it (``logwarden_message_processing_seconds{topic}``;
  ``logs.raw``, read outside Faust, is timed by its batch consumer, fetch to commit);
- a collector for consumer lag, read from the consumers at scrape time
  (``logwarden_consumer_lag_messages{topic,partition}``: log end offset minus committed
  offset, for the partitions this worker is assigned, ``logs.raw``'s in the parse
  stage's own group).

Faust's own Prometheus families (``setup_prometheus_sensors``) are not used: they are
named after the app id (``<app_id>_events_runtime_ms`` ...: a different name per
deployment), carry open label sets (stream and topic names), fail ``promtool check
metrics`` (abbreviated units) and cost the worker a dozen label look-ups per message and
per event (``app.monitor``). The families above replace the ones that matter (processing
latency, lag).

Labels are closed sets: ``topic`` is a logwarden topic's role (``TOPIC_ROLES``),
``partition`` a partition number below ``kafka.partitions``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from faust import Sensor
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app import batch_consumer
from app.faust_app import app, settings
from app.metrics import (
    AUTH_FAILURE_REASONS,
    AUTH_FAILURES,
    LOGIN_OUTCOMES,
    LOGINS,
    MESSAGE_PROCESSING,
)

log = logging.getLogger(__name__)

#: topic name -> role label (the closed label set)
ROLES: dict[str, str] = {
    settings.topics.raw: "raw", settings.topics.events: "events",
    settings.topics.dlq: "dlq", settings.topics.windows_closed: "windows_closed"}
MAX_TRACKED = 200_000  # messages in flight; beyond this (never acked?) start over


class MessageLatencySensor(Sensor):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._in_flight: dict[tuple[Any, int], float] = {}
        # each topic's histogram child, looked up once (``labels`` takes a lock per call)
        self._observe = {topic: MESSAGE_PROCESSING.labels(role).observe
                         for topic, role in ROLES.items()}

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        if tp.topic in ROLES:
            if len(self._in_flight) >= MAX_TRACKED:
                self._in_flight.clear()
            self._in_flight[(tp, offset)] = time.monotonic()

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        started = self._in_flight.pop((tp, offset), None)
        if started is not None:
            self._observe[tp.topic](time.monotonic() - started)


class ConsumerLagCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "logwarden_consumer_lag_messages",
            "Log end offset minus the committed offset, per assigned partition",
            labels=["topic", "partition"])
        for topic, partition, lag in lags():
            family.add_metric([topic, str(partition)], lag)
        yield family


def lags() -> list[tuple[str, int, int]]:
    """(topic role, partition, lag) of this worker's assigned logwarden partitions."""
    try:
        consumer = app.consumer
        assignment = consumer.assignment()
    except Exception:  # not started (yet), or stopping
        return []
    found = []
    for tp in sorted(assignment):
        role = ROLES.get(tp.topic)
        if role is None:
            continue
        try:
            end = consumer.highwater(tp)
        except Exception as exc:  # no fetch for this partition yet
            log.debug("no highwater for %s yet: %s", tp, exc)
            end = None
        if end is None:
            continue
        committed = getattr(consumer, "_committed_offset", {}).get(tp) or 0
        found.append((role, tp.partition, max(0, int(end) - int(committed))))
    return found + batch_consumer_lags()


def batch_consumer_lags() -> list[tuple[str, int, int]]:
    """(topic role, partition, lag) of the topics read outside Faust (``logs.raw``)."""
    found = []
    for reader in list(batch_consumer.RUNNING):
        role = ROLES.get(reader.topic)
        if role is None:
            continue
        try:
            found += [(role, partition, lag) for partition, lag in reader.lags()]
        except Exception as exc:  # stopping, or the consumer is between assignments
            log.debug("no lag of %s: %s", reader.group_id, exc)
    return found


def install() -> None:
    if not any(isinstance(s, MessageLatencySensor) for s in app.sensors):
        app.sensors.add(MessageLatencySensor())
    with contextlib.suppress(ValueError):  # registered already (imported twice in tests)
        REGISTRY.register(ConsumerLagCollector())
    for reason in AUTH_FAILURE_REASONS:  # closed label sets: every series from the start
        AUTH_FAILURES.labels(reason)
    for outcome in LOGIN_OUTCOMES:
        LOGINS.labels(outcome)
    for role in ("raw", "events"):
        MESSAGE_PROCESSING.labels(role)


install()
