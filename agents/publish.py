"""Publishing to Kafka from agents: acknowledged, and retried until it is.

Faust acknowledges a message even when the agent raises, so an agent that let a failed
send escape would lose the batch. ``publish`` instead waits for Kafka's
acknowledgement of every record and, on failure (broker restarting, leader moving,
timeouts), sends the whole list again with capped backoff until it goes through. Some
records may then be on the topic twice; every consumer downstream is idempotent
(Elasticsearch ``_id``, window positions, MongoDB replaces, dead letters keyed by
their origin).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from app.adapters.retrying import until_done

log = logging.getLogger(__name__)

Record = tuple[Any, bytes, bytes]  # topic, key, value


async def publish(records: Sequence[Record], *, what: str, max_backoff_s: float = 10.0) -> None:
    async def send() -> None:
        futures = [await topic.send(key=key, value=value) for topic, key, value in records]
        await asyncio.gather(*futures)

    # faust wraps aiokafka's errors in ProducerSendError: any failure is retried
    await until_done(send, retry_on=Exception, what=f"publishing {len(records)} {what} records",
                     max_backoff_s=max_backoff_s, log=log)
