"""The worker's consumer fetches with the configured wait (app/consumer_fetch.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiokafka
import pytest

from app.consumer_fetch import tune_fetch
from app.faust_app import create_app
from app.settings import Settings


async def test_the_consumer_the_driver_creates_waits_as_configured() -> None:
    settings = Settings.model_validate({"kafka": {"fetch_max_wait_ms": 250},
                                       "worker": {"app_id": "lw-test-fetch-wait"}})
    app = create_app(settings)
    # the driver's own path: Consumer -> AIOKafkaConsumerThread -> AIOKafkaConsumer
    consumer: Any = app.consumer
    kafka_consumer = consumer._thread._create_consumer(loop=None)
    try:
        assert isinstance(kafka_consumer, aiokafka.AIOKafkaConsumer)
        assert kafka_consumer._fetch_max_wait_ms == 250
        # what the driver sets is otherwise kept
        assert kafka_consumer._group_id == "lw-test-fetch-wait"
    finally:
        await kafka_consumer.stop()  # never started: closes its client only


def test_the_default_is_kafkas_not_fausts() -> None:
    # 500 ms, as the Java client, librdkafka and aiokafka default; Faust hard-codes 1500
    assert Settings().kafka.fetch_max_wait_ms == 500


def test_an_aiokafka_without_the_attribute_fails_loudly() -> None:
    def create(_transport: Any) -> object:
        return object()  # no _fetch_max_wait_ms

    consumer = SimpleNamespace(_thread=SimpleNamespace(_create_worker_consumer=create))
    tune_fetch(consumer, 100)
    with pytest.raises(RuntimeError, match="consumer_fetch"):
        consumer._thread._create_worker_consumer(None)
