"""The one Faust application and the topics it declares.

Agents (``agents/``) and tables (``tables/``) import ``app`` and the topics from here;
``app.main`` imports them so that their decorators register.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View
from mode.utils.queues import ThrowableQueue
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from app.consumer_fetch import tune_fetch
from app.consumer_handoff import fast_handoff
from app.consumer_seeks import guard_seeks
from app.monitor import LeanMonitor
from app.rebalance_acks import (
    GuardedEvent,
    forget_partitions,
    guard_consumer,
    use_python_stream_iterator,
)
from app.settings import Settings, get_settings
from app.stream_queues import ClearableQueue

use_python_stream_iterator()  # before any stream iterates (app/rebalance_acks.py)


class App(faust.App):
    """``faust.App`` made safe across rebalances: stream buffers whose waiting writers
    let go when cleared (app/stream_queues.py), events that refuse acknowledgements
    which do not mean processed, no stale acknowledgements carried into a new
    assignment (app/rebalance_acks.py), and no record fetched before a seek delivered
    after it (app/consumer_seeks.py). Its consumer's fetch wait is a setting
    (app/consumer_fetch.py), and it hands fetched records to the streams without a
    round of tasks per record (app/consumer_handoff.py)."""

    logwarden_fetch_max_wait_ms = 1500  # Faust's own; create_app sets the setting's

    def FlowControlQueue(self, maxsize: int | None = None, *,  # the name faust calls
                         clear_on_resume: bool = False) -> ThrowableQueue:  # type: ignore[type-arg]
        return ClearableQueue(maxsize=maxsize, flow_control=self.flow_control,
                              clear_on_resume=clear_on_resume)

    def _new_consumer(self) -> Any:
        consumer = tune_fetch(super()._new_consumer(), self.logwarden_fetch_max_wait_ms)
        return fast_handoff(guard_seeks(guard_consumer(consumer)))

    async def _on_partitions_assigned(self, assigned: Any, generation_id: int = 0) -> None:
        forget_partitions(self.consumer, assigned)
        await super()._on_partitions_assigned(assigned, generation_id)



def create_app(settings: Settings) -> faust.App:
    worker = settings.worker
    fapp = App(
        worker.app_id,
        broker=settings.kafka.broker_url,
        store=worker.store,
        datadir=str(worker.datadir),
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        # Faust serves table contents and routes requests without auth otherwise.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_host=worker.web_host,
        web_bind=worker.web_host,
        web_port=worker.web_port,
        autodiscover=False,
        stream_buffer_maxsize=worker.stream_buffer_maxsize,
        producer_compression_type=settings.kafka.producer_compression,
        Event=GuardedEvent,
        Monitor=LeanMonitor,  # not Faust's PrometheusMonitor: see app/monitor.py
    )
    fapp.logwarden_fetch_max_wait_ms = settings.kafka.fetch_max_wait_ms

    @fapp.page("/metrics")
    async def metrics(self: View, request: Request) -> Response:
        """The Prometheus registry: ``app.metrics``, ``web.metrics``, plugins' families."""
        # (a header: aiohttp refuses a charset in ``content_type``)
        return self.bytes(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return fapp


settings = get_settings()
app = create_app(settings)

raw_topic = app.topic(settings.topics.raw, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw", allow_empty=True)
events_topic = app.topic(settings.topics.events, key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw", allow_empty=True)
dlq_topic = app.topic(settings.topics.dlq, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")
windows_closed_topic = app.topic(settings.topics.windows_closed, key_type=bytes, value_type=bytes,
                                 key_serializer="raw", value_serializer="raw")
notifications_outbox_topic = app.topic(settings.topics.notifications_outbox, key_type=bytes,
                                       value_type=bytes, key_serializer="raw",
                                       value_serializer="raw")
alerts_keyed_topic = app.topic(settings.topics.alerts_keyed, key_type=bytes, value_type=bytes,
                               key_serializer="raw", value_serializer="raw")
alerts_transitions_topic = app.topic(settings.topics.alerts_transitions, key_type=bytes,
                                     value_type=bytes, key_serializer="raw",
                                     value_serializer="raw")
alerts_silences_topic = app.topic(settings.topics.alerts_silences, key_type=bytes,
                                  value_type=bytes, key_serializer="raw", value_serializer="raw")
