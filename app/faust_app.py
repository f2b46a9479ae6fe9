"""The one Faust application and the topics it declares.

Agents (``agents/``) and tables (``tables/``) import ``app`` and the topics from here;
``app.main`` imports them so that their decorators register.
"""

from __future__ import annotations

import faust
from faust.sensors.prometheus import setup_prometheus_sensors

from app.settings import Settings, get_settings


def create_app(settings: Settings) -> faust.App:
    worker = settings.worker
    fapp = faust.App(
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
    )
    setup_prometheus_sensors(fapp, pattern="/metrics")
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
