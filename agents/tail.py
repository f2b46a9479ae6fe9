"""Agent ``tail``: ``logs.events`` -> the live tail's Redis channel (capped, sampled).

Each worker publishes the events of its partitions, at most
``dashboard.tail_publish_rate`` per second (an even sample beyond that). Nobody
listening (no web node subscribed) costs one ``PUBLISH`` per second: after a publish
that reached no subscriber, the agent skips batches for a second.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError

from agents.batches import acked_batches
from app.adapters.tail_bus import RateCap, TailPublisher, sample, tail_channel
from app.core.errors import ProcessorError
from app.core.eventbatch import decode_event_batch
from app.faust_app import app, events_topic, settings

log = logging.getLogger(__name__)
IDLE_S = 1.0  # nobody subscribed: look again after this long
DOWN_S = 5.0  # Redis unreachable: try again after this long


@app.agent(events_topic, name="tail")
async def tail(stream: Any) -> None:
    publisher = TailPublisher(settings.redis.url, tail_channel(settings.topics.events))
    rate = settings.dashboard.tail_publish_rate
    cap = RateCap(rate, burst=rate)
    quiet_until = 0.0
    try:
        async for batch in acked_batches(stream, 200, within=0.2):
            now = time.monotonic()
            if now < quiet_until:
                continue
            docs = decoded(batch)
            docs = sample(docs, cap.take(len(docs), now))
            if not docs:
                continue
            try:
                receivers = await publisher.publish(docs)
            except RedisError as exc:
                log.warning("live tail: publishing failed (pausing %.0fs): %s", DOWN_S, exc)
                quiet_until = now + DOWN_S
                continue
            if receivers == 0:
                quiet_until = now + IDLE_S
    finally:
        await publisher.close()


def decoded(batch: list[Any]) -> list[dict[str, Any]]:
    """The events of a batch; undecodable messages are the ``index`` agent's to report."""
    docs: list[dict[str, Any]] = []
    for event in batch:
        try:
            docs.extend(decode_event_batch(event.value or b""))
        except ProcessorError:
            continue
    return docs
