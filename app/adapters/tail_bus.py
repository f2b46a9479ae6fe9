"""The live tail's fan-out over Redis pub/sub.

Workers (agent ``tail``) publish a capped, sampled stream of new events to one channel;
every web node keeps one subscription while it has live-tail clients (``TailHub``) and
hands each message to every local listener, which filters for its own client. Pub/sub
is fire-and-forget: a node that is not subscribed misses events, which a live view
tolerates (the search page has everything).

Messages are JSON arrays of event documents (message text capped at ``MESSAGE_CAP``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)

#: characters of a message the tail carries (the search page shows the whole event)
MESSAGE_CAP = 4096


def tail_channel(events_topic: str) -> str:
    """One channel per ``logs.events`` topic (pub/sub channels span Redis databases)."""
    return f"lw:tail:{events_topic}"


class RateCap:
    """Token bucket: ``rate`` per second, at most ``burst`` at once (time is a parameter)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self.tokens = self.burst
        self.at: float | None = None

    def take(self, wanted: int, now: float) -> int:
        """How many of ``wanted`` may pass at ``now`` (monotonic seconds)."""
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return max(granted, 0)


def sample(items: list[Any], keep: int) -> list[Any]:
    """``keep`` items spread evenly over ``items`` (order kept)."""
    if keep >= len(items):
        return items
    if keep <= 0:
        return []
    step = len(items) / keep
    return [items[int(i * step)] for i in range(keep)]


def compact(doc: dict[str, Any]) -> dict[str, Any]:
    message = doc.get("message")
    if isinstance(message, str) and len(message) > MESSAGE_CAP:
        return {**doc, "message": message[:MESSAGE_CAP], "message_truncated": True}
    return doc


class TailPublisher:
    def __init__(self, url: str, channel: str, *, client: Redis | None = None) -> None:
        self._redis: Redis = client or Redis.from_url(url)
        self.channel = channel

    async def close(self) -> None:
        await self._redis.aclose()

    async def publish(self, docs: list[dict[str, Any]]) -> int:
        """Publish ``docs`` as one message; the number of subscribed web nodes."""
        body = orjson.dumps([compact(doc) for doc in docs])
        return int(await self._redis.publish(self.channel, body))


class Listener:
    """One client's inbox on a web node: a bounded queue of event batches."""

    def __init__(self, hub: TailHub, maxsize: int) -> None:
        self.hub = hub
        self.queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue(maxsize)
        self.dropped = 0  # batches lost because the client fell behind

    def offer(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.dropped += len(batch)

    async def get(self) -> list[dict[str, Any]]:
        return await self.queue.get()

    async def close(self) -> None:
        await self.hub.remove(self)


async def _unsubscribe(pubsub: PubSub, timeout_s: float = 1.0) -> None:
    """Unsubscribe and wait (bounded) until Redis confirms it.

    Closing the connection alone leaves the subscription alive until the server
    notices the closed socket, so a publish right after could still count us.
    """
    await pubsub.unsubscribe()
    async with asyncio.timeout(timeout_s):
        while pubsub.subscribed:
            await pubsub.get_message(timeout=0.1)


class TailHub:
    """One Redis subscription per process while at least one listener exists."""

    def __init__(self, url: str, channel: str, *, client: Redis | None = None,
                 retry_s: float = 1.0) -> None:
        self._redis: Redis = client or Redis.from_url(url)
        self.channel = channel
        self.retry_s = retry_s
        self._listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    async def listen(self, maxsize: int = 256) -> Listener:
        """A new listener; returns once the hub's subscription is active."""
        listener = Listener(self, maxsize)
        self._listeners.add(listener)
        if self._task is None or self._task.done():
            self.subscribed.clear()
            self._task = asyncio.create_task(self._run(), name="tail-hub")
        await self.subscribed.wait()
        return listener

    async def remove(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        if not self._listeners:
            await self._stop()

    async def close(self) -> None:
        self._listeners.clear()
        await self._stop()
        await self._redis.aclose()

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.subscribed.clear()

    async def _run(self) -> None:
        while self._listeners:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                while self._listeners:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    self._dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone: retry; listeners wait
                self.subscribed.clear()
                log.warning("live tail subscription failed (retrying): %s", exc)
                await asyncio.sleep(self.retry_s)
            finally:
                with contextlib.suppress(Exception):
                    await _unsubscribe(pubsub)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]

    def _dispatch(self, data: bytes) -> None:
        try:
            batch = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.warning("live tail: a message on %s is not JSON; ignored", self.channel)
            return
        docs = [d for d in batch if isinstance(d, dict)] if isinstance(batch, list) else []
        if docs:
            for listener in list(self._listeners):
                listener.offer(docs)
