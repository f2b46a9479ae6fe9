"""Delivering notifications to channels, once each (the notify agent's work).

Shared by the ``notify`` agent and ``logwarden notify test``. For every (notification,
channel) pair: read the delivery record and skip a key the channel already has; wait
for the channel's rate limit (a delay, never a drop); mark the attempt in flight, send,
record the outcome at once; on failure wait with capped exponential backoff and send
again, up to ``max_attempts``. After that the record says ``failed``, the failure is
logged at ERROR and counted (``logwarden_notifications_failed_total``), and a replay of
the outbox tries the key again (a ``delivered`` record is never sent again).

Channels are independent: each gets its own task, going through its notifications in
order, so a channel that is down delays only its own deliveries (and the batch's offset
commit, by at most ``max_attempts`` backoffs), never the others'.

Each channel is sent by its notifier (``logwarden.notifiers``: the built-in ``apprise``,
or a plugin's, named by ``lw_notifier:`` in the channels file). Whatever a notifier
raises, or a send that outlasts ``notify.send_timeout_s``, is a failed attempt: recorded,
retried with backoff, never a crash of the agent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from app.adapters.apprise_channels import ChannelConfigError, Channels, load_channels
from app.adapters.delivery_log import MongoDeliveryLog
from app.core.delivery import (
    AttemptResult,
    Channel,
    RateLimiter,
    RetryPolicy,
    decide,
    select_channels,
)
from app.core.delivery.records import status_after
from app.core.errors import ConfigError
from app.core.notification import Notification
from app.metrics import (
    NOTIFICATION_SEND_ERRORS,
    NOTIFICATIONS_DUPLICATE,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_RATE_LIMITED,
    NOTIFICATIONS_SENT,
)
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str
    channel: str
    result: str  # delivered | duplicate | failed
    attempts: int  # sends made now (0 for a duplicate)
    error: str | None = None


class Deliverer:
    def __init__(self, channels: Channels, records: MongoDeliveryLog,
                 policy: RetryPolicy, limiter: RateLimiter, *, send_timeout_s: float = 30.0,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.channels, self.records = channels, records
        self.policy, self.limiter = policy, limiter
        self.send_timeout_s = send_timeout_s
        self._clock, self._monotonic, self._sleep = clock, monotonic, sleep

    async def deliver(self, notifications: Sequence[Notification]) -> list[Outcome]:
        """Deliver every notification to its channels; return once all are settled."""
        per_channel: dict[str, list[Notification]] = {}
        by_name = {channel.name: channel for channel in self.channels.channels}
        for note in notifications:
            targets = select_channels(by_name.values(), note.routes)
            if not targets:
                log.warning("notification %s (%s) routes %s match no channel in %s",
                            note.key, note.kind, list(note.routes), self.channels.source)
            for channel in targets:
                per_channel.setdefault(channel.name, []).append(note)
        results = await asyncio.gather(*(self._run_channel(by_name[name], notes)
                                         for name, notes in per_channel.items()))
        return [outcome for outcomes in results for outcome in outcomes]

    async def _run_channel(self, channel: Channel, notes: list[Notification]) -> list[Outcome]:
        return [await self.deliver_one(note, channel) for note in notes]

    async def deliver_one(self, note: Notification, channel: Channel) -> Outcome:
        decision = decide(await self.records.get(note.key, channel.name))
        if not decision.send:
            NOTIFICATIONS_DUPLICATE.labels(channel.name).inc()
            log.info("notification %s already delivered to %s: not sent again",
                     note.key, channel.name)
            return Outcome(note.key, channel.name, "duplicate", 0)
        if decision.next_attempt > 1:
            log.warning("notification %s to %s: %s", note.key, channel.name, decision.reason)
        meta = {"kind": note.kind, "group": note.group, "title": note.title,
                "severity": note.severity, "created_at": note.created_at}
        attempt, made = decision.next_attempt, 0
        while True:
            wait = self.limiter.reserve(channel.name, channel.rate_per_minute,
                                        self._monotonic())
            if wait > 0:
                NOTIFICATIONS_RATE_LIMITED.labels(channel.name).inc()
                await self.records.rate_limited(note.key, channel.name, attempt,
                                                self._clock(), wait, meta)
                await self._sleep(wait)
            await self.records.start(note.key, channel.name, attempt, self._clock(), meta)
            sent = await self.channels.send(channel.name, note,
                                            timeout_s=self.send_timeout_s)
            made += 1
            result = AttemptResult.DELIVERED if sent.ok else AttemptResult.FAILED
            exhausted = self.policy.exhausted(made)
            # the outcome is written right after the send: the only duplicate window
            await self.records.finish(note.key, channel.name, attempt, self._clock(), result,
                                      status_after(result, exhausted), sent.error)
            if sent.ok:
                NOTIFICATIONS_SENT.labels(channel.name).inc()
                return Outcome(note.key, channel.name, "delivered", made)
            NOTIFICATION_SEND_ERRORS.labels(channel.name).inc()
            if exhausted:
                NOTIFICATIONS_FAILED.labels(channel.name).inc()
                log.error("notification %s (%s) to %s failed %d times, giving up (record "
                          "status failed; a replay of the outbox tries again): %s",
                          note.key, note.kind, channel.name, made, sent.error)
                return Outcome(note.key, channel.name, "failed", made, sent.error)
            delay = self.policy.delay(made, random.random())  # noqa: S311 - jitter
            log.warning("notification %s to %s failed (attempt %d, retry in %.1fs): %s",
                        note.key, channel.name, attempt, delay, sent.error)
            await self._sleep(delay)
            attempt += 1


def channels_of(config: Settings) -> Channels:
    """The configured channels, each with its notifier from the plugin registry;
    ``ConfigError`` names the file and the entry at fault."""
    n = config.notify
    try:
        return load_channels(n.apprise_config, rate_per_minute=n.rate_per_minute,
                             channel_rates=n.channel_rate_per_minute,
                             send_timeout_s=n.send_timeout_s)
    except ChannelConfigError as exc:
        raise ConfigError(f"notify.apprise_config: {exc}") from None


def deliverer_of(config: Settings, channels: Channels,
                 records: MongoDeliveryLog) -> Deliverer:
    n = config.notify
    return Deliverer(channels, records,
                     RetryPolicy(n.max_attempts, n.base_backoff_s, n.max_backoff_s, jitter=0.2),
                     RateLimiter(burst=n.rate_burst), send_timeout_s=n.send_timeout_s)
