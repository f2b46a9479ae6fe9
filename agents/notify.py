"""Agent ``notify``: ``notifications.outbox`` -> channels (any notifier), each key once.

Takes a batch of outbox messages, decodes each with ``Notification.from_json`` (a bad
one goes to ``logs.dlq`` with stage ``notify``), delivers the batch (``agents.delivery``:
idempotency by MongoDB delivery records, retries with backoff, per-channel rate limit)
and only then lets Faust acknowledge it. The channel file (``notify.apprise_config``) is
read when this module is imported, so a mistake in it stops the worker at start-up with
the file and the entry named.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from agents.batches import acked_batches
from agents.deadletters import send_dead_letters
from agents.delivery import channels_of, deliverer_of
from app.adapters.delivery_log import MongoDeliveryLog
from app.core.deadletter import DeadLetter
from app.core.errors import ProcessorError, Reason
from app.core.notification import Notification
from app.faust_app import app, notifications_outbox_topic, settings
from app.metrics import RECORDS_IN

log = logging.getLogger(__name__)
STAGE = "notify"


class NotificationRejected(ProcessorError):
    stage = STAGE


CHANNELS = channels_of(settings)


@app.agent(notifications_outbox_topic, name="notify")
async def notify(stream: Any) -> None:
    n = settings.notify
    records = MongoDeliveryLog(settings.mongo.url, settings.mongo.database,
                               max_backoff_s=settings.mongo.max_backoff_s)
    deliverer = deliverer_of(settings, CHANNELS, records)
    try:
        await records.ensure_indexes()
        async for batch in acked_batches(stream, n.batch_size, n.batch_wait_s):
            notes, letters = decode(batch)
            RECORDS_IN.labels(STAGE).inc(len(batch))
            await send_dead_letters(letters)
            if notes:
                await deliverer.deliver(notes)
    finally:
        await records.close()


def decode(batch: list[Any]) -> tuple[list[Notification], list[DeadLetter]]:
    notes: list[Notification] = []
    letters: list[DeadLetter] = []
    for event in batch:
        msg, raw = event.message, event.value or b""
        try:
            notes.append(decode_one(raw))
        except NotificationRejected as exc:
            letters.append(DeadLetter.from_error(
                exc, raw, topic=msg.topic, partition=msg.partition, offset=msg.offset,
                index=0, first_seen=msg.timestamp or time.time()))
    return notes, letters


def decode_one(raw: bytes) -> Notification:
    if not raw.strip():
        raise NotificationRejected(Reason.EMPTY, "empty outbox message")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotificationRejected(Reason.UNDECODABLE, str(exc)) from None
    try:
        return Notification.from_json(raw)
    except ValueError as exc:
        text = str(exc)
        reason = (Reason.MALFORMED_JSON if "not JSON" in text
                  else Reason.NOT_AN_OBJECT if "not a JSON object" in text
                  else Reason.BAD_FIELD)
        raise NotificationRejected(reason, text) from None
