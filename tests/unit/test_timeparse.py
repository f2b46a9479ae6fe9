"""epoch_from_iso_utc: its caches (whole seconds, the last second) give the value the
uncached parse gives, on random timestamps in and out of time order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.core import timeparse
from app.core.timeparse import epoch_from_iso, epoch_from_iso_utc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# around the last second _LAST_SECOND may hold, and far from it
_EDGES = [timeparse._LAST_MAX + delta for delta in range(-3, 4)]
_EDGES += [-second for second in _EDGES]


def _stamp(second: int, millis: int, zulu: str = "Z") -> str:
    moment = _EPOCH + timedelta(seconds=second)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{millis:03d}{zulu}"


def _uncached(text: str) -> float:
    # what the value must be: datetime's parse, no cache involved
    return epoch_from_iso(text)


@pytest.mark.parametrize("seed", range(8))
def test_cached_timestamps_equal_the_uncached_parse(seed: int) -> None:
    rng = random.Random(seed)
    timeparse._ISO_SECONDS.clear()
    timeparse._LAST_SECOND[0] = ("", 0.0)
    second = rng.choice([1_795_000_000, 0, -1, 4_102_444_800, *_EDGES])
    for _ in range(3000):
        pick = rng.random()
        if pick < 0.05:  # anywhere from year 1 to 9999
            second = rng.randint(-62_135_596_800, 253_402_300_799)
        elif pick < 0.15:
            second = rng.choice(_EDGES)
        elif pick < 0.4:  # in time order, a few seconds on, or back a little
            second += rng.choice([1, 1, 2, -1])
        if not -62_135_596_800 <= second <= 253_402_300_799:
            second = 1_795_000_000
        if rng.random() < 0.1:
            timeparse._ISO_SECONDS.clear()
        text = _stamp(second, rng.randrange(1000), rng.choice("ZZZz"))
        got = epoch_from_iso_utc(text)
        want = _uncached(text)
        assert got == want, (text, got, want)
        assert repr(got) == repr(want)
        # the microsecond shape from the same cache
        micro = text[:20] + f"{rng.randrange(10**6):06d}Z"
        assert epoch_from_iso_utc(micro) == _uncached(micro), micro


def test_the_last_second_holds_only_exact_seconds() -> None:
    timeparse._LAST_SECOND[0] = ("", 0.0)
    for second in (timeparse._LAST_MAX + 1, -timeparse._LAST_MAX - 1):
        text = _stamp(second, 999)
        epoch_from_iso_utc(text)
        assert epoch_from_iso_utc(text) == _uncached(text)
        assert timeparse._LAST_SECOND[0][0] != text[:19]
    text = _stamp(timeparse._LAST_MAX, 999)
    for _ in range(2):
        assert epoch_from_iso_utc(text) == _uncached(text)
    assert timeparse._LAST_SECOND[0] == (text[:19], float(timeparse._LAST_MAX * 10**6))


def test_other_shapes_are_left_to_the_caller() -> None:
    for text in ("2026-11-22T04:00:00.123+00:00", "2026-11-22T04:00:00Z",
                 "2026-11-22T04:00:00.12xZ", "x" * 24, "2026-11-22T04:00:00.1234Z"):
        assert epoch_from_iso_utc(text) is None
    text = "2026-11-22 04:00:00.123Z"  # a space for the T: datetime's parse accepts it
    assert epoch_from_iso_utc(text) == epoch_from_iso_utc(text) == _uncached(text)
