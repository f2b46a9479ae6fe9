import orjson
import pytest

from agents.decoded import DecodedMessages, cache_size
from app.core.errors import ProcessorError

EVENTS = [{"event_id": "a", "ts": "2026-11-22T00:00:00.000Z"}]


def test_second_reader_gets_the_same_objects_without_decoding() -> None:
    cache = DecodedMessages(max_events=2)
    value = orjson.dumps(EVENTS)
    first = cache.get("logs.events", 0, 7, value)
    assert cache.get("logs.events", 0, 7, value) is first
    assert (cache.hits, cache.misses) == (1, 1)


def test_same_position_other_bytes_is_decoded_again() -> None:
    cache = DecodedMessages()
    cache.get("t", 0, 1, orjson.dumps(EVENTS))
    other = [{"event_id": "b", "ts": "2026-11-22T00:00:01.000Z"}]
    assert cache.get("t", 0, 1, orjson.dumps(other)) == other


def test_bounded_oldest_evicted() -> None:
    cache = DecodedMessages(max_events=2)
    values = [orjson.dumps([{"event_id": str(i), "ts": "x"}]) for i in range(3)]
    for offset, value in enumerate(values):
        cache.get("t", 0, offset, value)
    cache.get("t", 0, 0, values[0])
    assert cache.misses == 4 and len(cache._items) == 2 and cache._events == 2


def test_undecodable_raises_for_every_reader_and_is_not_cached() -> None:
    cache = DecodedMessages()
    for _ in range(2):
        with pytest.raises(ProcessorError):
            cache.get("t", 0, 1, b"{not json")
    assert cache.misses == 2 and not cache._items


def test_no_cache_without_a_second_reader() -> None:
    assert cache_size(("parse", "aggregate")) == 0
    assert cache_size(("index",)) == 0
    assert cache_size(("parse", "index", "aggregate")) > 0
    cache = DecodedMessages(max_events=0)
    value = orjson.dumps([{"event_id": "a", "ts": "2026-01-01T00:00:00Z"}])
    assert cache.get("t", 0, 1, value) == cache.get("t", 0, 1, value)
    assert (cache.hits, cache.misses) == (0, 2)
