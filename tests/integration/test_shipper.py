"""``logwarden ship`` against the real Kafka: follow, resume, truncation, multi-line folding."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from app.core.multiline import python_record_start
from app.settings import load_settings
from app.shipper import Shipper

pytestmark = pytest.mark.integration


async def records(bootstrap: str, topic: str, want: int, timeout: float = 20) -> list[str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    out: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(out) < want and loop.time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for message in batch:
                    headers = dict(message.headers)
                    assert headers["source_type"] == b"file"
                    if headers.get("lw-batch") == b"json":
                        out.extend(json.loads(message.value))
                    else:
                        out.append(message.value.decode("utf-8", "replace"))
        return out
    finally:
        await consumer.stop()


async def test_follow_resume_truncate_and_fold(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = f"test-ship-{uuid.uuid4().hex[:10]}"
    settings = load_settings(kafka={"bootstrap_servers": kafka_bootstrap,
                                    "partitions": 1}, topics={"raw": topic})
    log, state = tmp_path / "app.log", tmp_path / "state.json"
    log.write_text("2026-11-22 04:00:00,000 - a - INFO - one\n"
                   "2026-11-22 04:00:01,000 - a - ERROR - two\nTraceback (most recent call"
                   " last):\nValueError: x\n")
    stop = asyncio.Event()
    async with Shipper(settings, record_start=python_record_start, state=state,
                       progress=False) as shipper:
        task = asyncio.create_task(shipper.ship(log, follow=True, stop=stop))
        await asyncio.sleep(1.0)
        with log.open("a") as handle:  # a line written in two parts while followed
            handle.write("2026-11-22 04:00:02,000 - a - INFO - thr")
            handle.flush()
            await asyncio.sleep(0.7)
            handle.write("ee\n")
        got = await records(kafka_bootstrap, topic, 3)
        assert got[:2] == ["2026-11-22 04:00:00,000 - a - INFO - one",
                           "2026-11-22 04:00:01,000 - a - ERROR - two\nTraceback (most "
                           "recent call last):\nValueError: x"]
        await asyncio.sleep(3)  # the last record closes on the fold timeout (2 s)
        stop.set()
        stats = await asyncio.wait_for(task, 15)
    third = (await records(kafka_bootstrap, topic, 3))[2]
    assert third == "2026-11-22 04:00:02,000 - a - INFO - three"
    assert stats.records == 3

    # a second run resumes at the remembered offset: nothing is sent again
    async with Shipper(settings, state=state, progress=False) as shipper:
        again = await shipper.ship(log)
    assert (again.lines, again.records) == (0, 0)

    # a truncated (rotated in place) file starts over
    log.write_text("fresh\n")
    async with Shipper(settings, state=state, progress=False) as shipper:
        fresh = await shipper.ship(log)
    assert fresh.records == 1
    assert (await records(kafka_bootstrap, topic, 4))[3] == "fresh"
