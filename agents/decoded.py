"""Decoded ``logs.events`` messages, shared by the agents of one worker that read them.

``index`` and ``aggregate`` (and any other agent on ``logs.events``) see the same Kafka
messages in the same process. Decoding a batched message is the biggest single cost
either of them pays (``orjson`` building a few hundred dicts), so the first agent to
reach a message decodes it and the others reuse the result while it is recent.

The cache is bounded by the events it holds (``max_events``; a bound of 256 whole
messages instead raised the worker's peak RSS by ~300 MiB in bench/bench_pipeline.py).
A worker that runs only one of the readers (``READERS``) keeps no cache at all: nothing
would ever hit it, and 16,000 decoded events are tens of MiB of RSS
(bench/bench_window_memory.py runs such a worker).
It is keyed by (topic, partition, offset) and keeps the value too, so a different
message at the same position (a recreated topic) is never mistaken for the cached one.
Readers must not mutate the events. A message that does not decode is not cached:
each reader gets the ``ProcessorError``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from app.core.eventbatch import decode_event_batch
from app.faust_app import settings

Position = tuple[str, int, int]


#: The built-in agents that read ``logs.events`` through this cache.
READERS = frozenset({"index", "aggregate"})
DEFAULT_MAX_EVENTS = 16_000


class DecodedMessages:
    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.max_events = max_events
        self._items: OrderedDict[Position, tuple[bytes, list[dict[str, Any]]]] = OrderedDict()
        self._events = 0
        self.hits = self.misses = 0

    def get(self, topic: str, partition: int, offset: int, value: bytes) -> list[dict[str, Any]]:
        position = (topic, partition, offset)
        found = self._items.get(position)
        if found is not None and (found[0] is value or found[0] == value):
            self.hits += 1
            return found[1]
        self.misses += 1
        docs = decode_event_batch(value)
        if self.max_events <= 0:
            return docs
        old = self._items.pop(position, None)
        if old is not None:
            self._events -= len(old[1])
        self._items[position] = (value, docs)
        self._events += len(docs)
        while self._events > self.max_events and len(self._items) > 1:
            _, (_, dropped) = self._items.popitem(last=False)
            self._events -= len(dropped)
        return docs


def cache_size(agents: tuple[str, ...]) -> int:
    """The cache bound for a worker running ``agents``: none unless two readers share it."""
    return DEFAULT_MAX_EVENTS if len(READERS.intersection(agents)) > 1 else 0


#: The worker's one cache (Faust agents run on one event loop: no locking needed).
DECODED = DecodedMessages(cache_size(settings.worker.agents))


def decoded(event: Any) -> list[dict[str, Any]]:
    """The events of a Faust ``EventT`` on ``logs.events`` (raises ``ProcessorError``)."""
    msg = event.message
    return DECODED.get(msg.topic, msg.partition, msg.offset, event.value or b"")
