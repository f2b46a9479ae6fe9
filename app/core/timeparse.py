"""Timestamp parsing without ``strptime`` on the hot path (see PERF-NOTES §2.1)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

# Epoch magnitudes: seconds until ~year 5138, then ms, µs, ns.
_S_MAX, _MS_MAX, _US_MAX = 1e11, 1e14, 1e17


def epoch_from_number(value: float) -> float:
    """Epoch seconds from a number in s, ms, µs or ns (chosen by magnitude)."""
    magnitude = abs(value)
    if magnitude < _S_MAX:
        return float(value)
    if magnitude < _MS_MAX:
        return value / 1e3
    if magnitude < _US_MAX:
        return value / 1e6
    return value / 1e9


def epoch_from_iso(text: str) -> float:
    """Epoch seconds from ISO 8601 text; a value without an offset is taken as UTC.

    Raises ``ValueError`` if the text is not ISO 8601.
    """
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# "YYYY-MM-DDTHH:MM:SS" -> epoch seconds (UTC); cleared, never rebound (json_lines' compiled
# plans hold it)
_ISO_SECONDS: dict[str, int] = {}
_ISO_CACHE_MAX = 4096
_SCALE_US = {24: 1000, 27: 1}  # text length -> microseconds per fraction unit
#: ".123Z" / ".123z" -> 123000: the tail of a millisecond timestamp, as microseconds
_MILLIS_US = {f".{ms:03d}{zulu}": ms * 1000 for ms in range(1000) for zulu in "Zz"}
#: the same as floats, for adding to ``_LAST_SECOND``'s float
_MILLIS_FLOAT = {tail: float(micros) for tail, micros in _MILLIS_US.items()}
#: ``[(second, microseconds)]``: the last "YYYY-MM-DDTHH:MM:SS" a millisecond timestamp was
#: read from, and its epoch in microseconds as a float (one tuple, swapped whole: a
#: reader never pairs one second's text with another's number). Lines arrive in time
#: order, many a second: one string comparison instead of a hash and a lookup. Only
#: seconds whose microseconds a float holds exactly with room for the fraction are
#: kept, so ``(microseconds + fraction) / 1e6`` divides the same two exact numbers as
#: ``(base * 1_000_000 + fraction) / 1_000_000`` does: the same correctly rounded value.
#: Mutated, never rebound (json_lines' compiled plans hold it).
_LAST_SECOND: list[tuple[str, float]] = [("", 0.0)]
_LAST_MAX = (2**53 - 10**6) // 10**6  # |seconds| that _LAST_SECOND may hold


def epoch_from_iso_utc(text: str) -> float | None:
    """``epoch_from_iso(text)`` for the usual UTC shapes ``YYYY-MM-DDTHH:MM:SS.mmmZ``
    and ``...SS.uuuuuuZ``, from a cache of whole seconds; None for any other text (the
    caller then uses ``epoch_from_iso``).

    The value is the one ``datetime.timestamp()`` computes: whole microseconds since
    the epoch divided by 10**6.
    """
    if len(text) == 24:  # milliseconds, the usual shape: no parsing
        micros = _MILLIS_US.get(text[19:])
        if micros is not None:
            second = text[:19]
            last = _LAST_SECOND[0]
            if second == last[0]:
                return (last[1] + micros) / 1e6
            base = _ISO_SECONDS.get(second)
            if base is not None:
                if -_LAST_MAX <= base <= _LAST_MAX:
                    _LAST_SECOND[0] = (second, float(base * 1_000_000))
                return (base * 1_000_000 + micros) / 1_000_000
    scale = _SCALE_US.get(len(text))
    if scale is None or text[19] != "." or text[-1] not in "Zz":
        return None
    fraction = text[20:-1]
    if not (fraction.isascii() and fraction.isdigit()):
        return None
    second = text[:19]
    base = _ISO_SECONDS.get(second)  # only well-formed seconds are cached
    if base is None:
        if text[4] != "-" or text[13] != ":" or text[16] != ":":
            return None
        try:
            moment = datetime.fromisoformat(second)
        except ValueError:
            return None
        base = int(moment.replace(tzinfo=UTC).timestamp())
        if len(_ISO_SECONDS) >= _ISO_CACHE_MAX:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[second] = base
    return (base * 1_000_000 + int(fraction) * scale) / 1_000_000


class ClfTimeParser:
    """``10/Oct/2000:13:55:36 -0700`` (Apache/Nginx ``%t``) with a one-entry cache.

    Access logs carry many lines per second; caching the last second turns the
    parse into a string comparison for most lines.
    """

    __slots__ = ("_last_epoch", "_last_text")

    def __init__(self) -> None:
        self._last_text = ""
        self._last_epoch = 0.0

    def __call__(self, text: str) -> float:
        if text == self._last_text:
            return self._last_epoch
        epoch = _parse_clf(text)
        self._last_text, self._last_epoch = text, epoch
        return epoch


def _parse_clf(text: str) -> float:
    # dd/Mon/yyyy:HH:MM:SS +zzzz
    if len(text) < 26 or text[2] != "/" or text[6] != "/" or text[11] != ":":
        raise ValueError(f"not a CLF timestamp: {text!r}")
    month = _MONTHS.get(text[3:6])
    if month is None:
        raise ValueError(f"unknown month in {text!r}")
    year, day = int(text[7:11]), int(text[0:2])
    hour, minute, second = int(text[12:14]), int(text[15:17]), int(text[18:20])
    zone = text[21:26]
    if zone[0] not in "+-" or not zone[1:].isdigit():
        raise ValueError(f"bad zone in {text!r}")
    offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (1 if zone[0] == "+" else -1)
    if not (1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f"out-of-range field in {text!r}")
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset)
