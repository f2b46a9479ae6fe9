"""Record batches are compressed with ``kafka.compression_type`` (default: none).

The worker's producer is checked through the Faust driver's own creation path; the
round trip runs on the real Kafka: what a zstd producer configured by the settings
writes, a plain aiokafka consumer reads back unchanged.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiokafka
import pytest
from pydantic import ValidationError

from app.faust_app import create_app
from app.settings import Settings
from app.shipper import Shipper


def _settings(codec: str | None = None) -> Settings:
    kafka = {} if codec is None else {"compression_type": codec}
    # an app id per codec: each app registers its Prometheus series under its id
    return Settings.model_validate({"kafka": kafka,
                                    "worker": {"app_id": f"lw-test-compression-{codec}"}})


async def _driver_producer(settings: Settings) -> aiokafka.AIOKafkaProducer:
    app = create_app(settings)
    producer: Any = app.producer
    return producer._new_producer()  # Faust's aiokafka driver builds it from app.conf


@pytest.mark.parametrize(("codec", "expected"), [(None, None), ("zstd", "zstd"),
                                                 ("none", None)])
async def test_the_workers_producer_compresses_as_configured(codec: str | None,
                                                             expected: str | None) -> None:
    kafka_producer = await _driver_producer(_settings(codec))
    try:
        assert isinstance(kafka_producer, aiokafka.AIOKafkaProducer)
        assert kafka_producer._compression_type == expected
    finally:
        await kafka_producer.stop()  # never started: closes its client only


async def test_the_shipper_compresses_logs_raw_as_configured(tmp_path: Path) -> None:
    shipper = Shipper(_settings("zstd"), state=tmp_path / "offsets.json", progress=False)
    try:
        assert shipper.producer._compression_type == "zstd"
    finally:
        await shipper.producer.stop()


def test_an_unknown_codec_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="compression_type"):
        _settings("brotli")


async def test_zstd_batches_round_trip_through_kafka() -> None:
    settings = _settings("zstd")
    bootstrap = settings.kafka.bootstrap_servers
    topic = f"lw-test-zstd-{uuid.uuid4().hex[:8]}"
    values = [b'{"message":"%d","service":"checkout"}' % i * 40 for i in range(200)]
    producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         compression_type=settings.kafka.producer_compression)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = aiokafka.AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                         auto_offset_reset="earliest")
    await consumer.start()
    got: list[bytes] = []
    try:
        for _ in range(20):  # bounded: 20 x 1 s
            batch = await consumer.getmany(timeout_ms=1000)
            got += [record.value for records in batch.values() for record in records]
            if len(got) >= len(values):
                break
    finally:
        await consumer.stop()
    assert got == values
