"""``logwarden notify test --tag TAG``: a test notification through the delivery path.

Builds a ``kind="test"`` notification routed to the given tags and delivers it with the
notify agent's own code (channels file, delivery records in MongoDB, retries, rate
limit). With ``--outbox`` it is produced on ``notifications.outbox`` instead and the
command waits for a running worker's ``notify`` agent to record its delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any

from app.core.errors import ConfigError
from app.core.notification import Notification
from app.settings import Settings, get_settings


def test_notification(tags: list[str], now: float) -> Notification:
    key = f"test-{uuid.uuid4().hex}"
    return Notification(
        key=key, kind="test", routes=tuple(tags), title="logwarden test notification",
        body=f"A test notification for the tags **{', '.join(tags)}**, sent by "
             f"`logwarden notify test` at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}.",
        group="test", created_at=now, severity="info")


def _echo(text: str, *, err: bool = False) -> None:
    (sys.stderr if err else sys.stdout).write(text + "\n")


def _print_records(records: list[dict[str, Any]]) -> int:
    worst = 0
    for rec in records:
        attempts = [a for a in rec.get("attempts", []) if a.get("result") != "rate_limited"]
        last = attempts[-1] if attempts else {}
        error = f": {last.get('error')}" if last.get("error") else ""
        _echo(f"{rec['channel']}\t{rec['status']}\t{len(attempts)} attempt(s){error}")
        worst = max(worst, 0 if rec["status"] == "delivered" else 1)
    return worst


async def _direct(settings: Settings, note: Notification) -> int:
    from agents.delivery import channels_of, deliverer_of
    from app.adapters.delivery_log import MongoDeliveryLog
    from app.core.delivery import select_channels

    channels = channels_of(settings)
    if not select_channels(channels.channels, note.routes):
        known = sorted({tag for c in channels.channels for tag in c.tags})
        _echo(f"logwarden: no channel in {channels.source} has tag(s) "
              f"{', '.join(note.routes)} (tags: {', '.join(known)})", err=True)
        return 2
    records = MongoDeliveryLog(settings.mongo.url, settings.mongo.database,
                               max_backoff_s=settings.mongo.max_backoff_s)
    try:
        await records.ensure_indexes()
        await deliverer_of(settings, channels, records).deliver([note])
        return _print_records(await records.find(note.key))
    finally:
        await records.close()


async def _outbox(settings: Settings, note: Notification, wait_s: float) -> int:
    from aiokafka import AIOKafkaProducer

    from agents.delivery import channels_of
    from app.adapters.delivery_log import MongoDeliveryLog
    from app.core.delivery import select_channels

    expected = len(select_channels(channels_of(settings).channels, note.routes))
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topics.notifications_outbox,
                                     key=note.key.encode(), value=note.to_json())
    finally:
        await producer.stop()
    _echo(f"produced {note.key} on {settings.topics.notifications_outbox}; waiting for "
          f"{expected} channel(s)", err=True)
    records = MongoDeliveryLog(settings.mongo.url, settings.mongo.database)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            found = await records.find(note.key)
            settled = [r for r in found if r.get("status") in ("delivered", "failed")]
            if len(settled) >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await records.close()
    if len(settled) < expected:
        _echo(f"logwarden: {len(settled)} of {expected} channel(s) settled within {wait_s:.0f}s"
              " (is a worker running the notify agent?)", err=True)
        _print_records(found)
        return 1
    return _print_records(found)


def cmd_notify(args: argparse.Namespace) -> int:
    try:
        settings = get_settings()
        note = test_notification(args.tag, time.time())
        if args.outbox:
            return asyncio.run(_outbox(settings, note, args.wait))
        return asyncio.run(_direct(settings, note))
    except ConfigError as exc:
        _echo(f"logwarden: {exc}", err=True)
        return 2


def add_cli_parser(sub: Any) -> None:
    p = sub.add_parser("notify", help="notification channels: send a test notification")
    p.add_argument("action", choices=("test",))
    p.add_argument("--tag", action="append", required=True,
                   help="route to channels with this tag (repeatable)")
    p.add_argument("--outbox", action="store_true",
                   help="go through notifications.outbox and a running worker")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to wait with --outbox")
    p.set_defaults(func=cmd_notify)
