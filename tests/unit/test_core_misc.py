from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.events import iso_utc
from app.core.ids import event_id
from app.core.severity import severity_number, severity_text
from app.core.timeparse import ClfTimeParser, epoch_from_iso


def test_event_id_is_deterministic_and_position_sensitive() -> None:
    assert event_id("t", 0, 1, 0) == event_id("t", 0, 1, 0)
    assert len({event_id("t", 0, 1, 0), event_id("t", 0, 1, 1), event_id("t", 1, 1, 0),
                event_id("u", 0, 1, 0)}) == 4


def test_event_id_recipe() -> None:
    # the Elasticsearch _id of existing documents: the recipe must never change
    from hashlib import blake2b

    from app.core import ids
    for topic, partition, offset, index in [("logs.raw", 0, 0, 0), ("logs.raw", 3, 5, 2),
                                            ("t\u00fc", 11, 2**40, 9999), ("", 0, 1, 0)]:
        recipe = f"{topic}\x00{partition}\x00{offset}\x00{index}".encode()
        want = blake2b(recipe, digest_size=16).hexdigest()
        assert event_id(topic, partition, offset, index) == want
        ids._PREFIXES.clear()  # the cached per-partition prefix and a fresh one agree
        assert event_id(topic, partition, offset, index) == want
    assert event_id("logs.raw", 3, 5) == "f547ded07aaaac8f7f6d454907c8f6b4"  # pinned


def test_event_id_recipe_across_partitions() -> None:
    """Random records of interleaved partitions (the last prefix used, the per-partition
    cache, a cleared cache) and odd numbers (huge, negative, bool, int subclass): the
    recipe's digest each time."""
    import enum
    import random
    from hashlib import blake2b

    from app.core import ids

    class Kind(enum.IntEnum):
        ONE = 1

    rng = random.Random(5)
    numbers = [0, 1, 7, 2**63, -1, True, Kind.ONE, 10**30]
    for _ in range(2000):
        topic = rng.choice(["logs.raw", "t\u00fc", "", "logs.raw2"])
        partition = rng.choice([0, 1, 11])
        offset = rng.choice([*numbers, rng.randrange(10**12)])
        index = rng.choice([*numbers, rng.randrange(100)])
        if rng.random() < 0.05:
            ids._PREFIXES.clear()
        recipe = f"{topic}\x00{partition}\x00{offset}\x00{index}".encode()
        assert event_id(topic, partition, offset, index) == blake2b(
            recipe, digest_size=16).hexdigest(), (topic, partition, offset, index)


def test_iso_rendering_has_milliseconds_and_z() -> None:
    assert iso_utc(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"


@settings(max_examples=300)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 59.999, 60.0, 3600.25]), min_size=1,
                max_size=40),
       st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_iso_rendering_is_the_same_in_any_order(offsets: list[float], base: float) -> None:
    # the last two values are remembered (a document renders ts, then observed_ts):
    # any sequence of repeats and alternations renders each value as datetime does
    for value in (base + offset for offset in offsets):
        second, ms = divmod(math.floor(value * 1000), 1000)
        expected = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        assert iso_utc(value) == f"{expected}.{ms:03d}Z", value


@pytest.mark.parametrize(("text", "number", "name"), [
    ("INFO", 9, "INFO"), ("warning", 13, "WARN"), ("Err", 17, "ERROR"),
    ("CRITICAL", 21, "FATAL"), ("trace", 1, "TRACE"), ("bogus", 0, "UNSPECIFIED"),
])
def test_severity_mapping(text: str, number: int, name: str) -> None:
    assert severity_number(text) == number
    assert severity_text(number) == name


def test_clf_time_parser_matches_iso_and_rejects_junk() -> None:
    parse = ClfTimeParser()
    assert parse("17/May/2015:10:05:03 +0200") == epoch_from_iso("2015-05-17T10:05:03+02:00")
    assert parse("17/May/2015:10:05:03 +0200") == epoch_from_iso("2015-05-17T08:05:03Z")
    for junk in ("17/Foo/2015:10:05:03 +0000", "garbage", "17/May/2015:10:05:03 0000x"):
        with pytest.raises(ValueError):
            parse(junk)
