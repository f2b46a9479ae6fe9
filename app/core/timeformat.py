"""Wall-clock time helpers shared by the text parsers.

``resolve_tz`` (zone names to tzinfo), ``wall_epoch`` (local wall-clock fields to epoch
seconds), ``in_epoch_range`` (what ``LogEvent.to_doc`` can render), and ``TimeFormat``:
a strptime-style format compiled once into a regex, so no line ever goes through
``strptime`` (PERF-NOTES §2.1).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.timeparse import epoch_from_iso

EPOCH_MIN = -62_135_596_800.0  # 0001-01-01T00:00:00Z: what LogEvent.to_doc can render
EPOCH_MAX = 253_402_300_800.0  # 10000-01-01T00:00:00Z, exclusive
CACHE_MAX = 4096  # per-second caches are cleared when they reach this size

_MONTHS = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MONTHS.update({name: i for i, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1)})


def resolve_tz(tz: str | tzinfo) -> tzinfo:
    """A tzinfo from a zone name (``"UTC"``, ``"Europe/Paris"``) or a tzinfo; else ValueError."""
    if isinstance(tz, tzinfo):
        return tz
    if tz.upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def in_epoch_range(epoch: float) -> bool:
    """True if ``epoch`` is finite and renders as a year 1-9999 date."""
    return EPOCH_MIN <= epoch < EPOCH_MAX


def wall_epoch(year: int, month: int, day: int, hour: int, minute: int, second: int,
               tz: tzinfo, offset_s: int = 0) -> float:
    """Epoch seconds of a wall-clock time in ``tz`` minus ``offset_s``.

    Raises ValueError for an impossible date or time (Feb 30, hour 24...). A leap
    second (``:60``) is accepted as the next second.
    """
    leap = 1 if second == 60 else 0
    try:
        moment = datetime(year, month, day, hour, minute, second - leap, tzinfo=tz)
        epoch = moment.timestamp() + leap - offset_s
    except OverflowError:
        raise ValueError("date out of range") from None
    if not in_epoch_range(epoch):
        raise ValueError(f"{year:04d}-{month:02d}-{day:02d} is out of range")
    return epoch


# directive -> (group name or "" for ignored text, regex)
_DIRECTIVES: dict[str, tuple[str, str]] = {
    "Y": ("Y", r"\d{4}"), "y": ("y", r"\d\d"), "m": ("m", r"\d{1,2}"), "d": ("d", r"\d{1,2}"),
    "j": ("j", r"\d{1,3}"), "H": ("H", r"\d{1,2}"), "I": ("I", r"\d{1,2}"),
    "M": ("M", r"\d{1,2}"), "S": ("S", r"\d{1,2}"), "f": ("f", r"\d{1,9}"),
    "b": ("b", r"[A-Za-z]{3}"), "h": ("b", r"[A-Za-z]{3}"), "B": ("b", r"[A-Za-z]{3,9}"),
    "a": ("", r"[A-Za-z]{3}"), "A": ("", r"[A-Za-z]{6,9}"), "p": ("p", r"[AaPp][Mm]"),
    "z": ("z", r"[Zz]|[+-]\d\d(?::?\d\d)?"), "Z": ("Z", r"(?i:UTC|GMT|Z)"),
}
_CONFLICTS = (("Y", "y"), ("m", "b"), ("H", "I"), ("z", "Z"), ("j", "m"), ("j", "b"))
_KEYWORDS = ("epoch", "epoch_ms", "iso8601")


class TimeFormat:
    """``"epoch"``, ``"epoch_ms"``, ``"iso8601"`` or a strptime-style format, compiled once.

    Supports ``%Y %y %m %d %j %H %I %p %M %S %f %b %h %B %a %A %z %Z %%``; whitespace
    matches any run of whitespace. Without a year the year of ``observed_ts`` is used
    (the previous one if that puts the time more than a week in the future). Calling
    it returns epoch seconds or raises ValueError. Whole seconds are cached by text.
    """

    __slots__ = ("_cache", "_fields", "_regex", "_tz", "format", "kind")

    def __init__(self, fmt: str, tz: str | tzinfo = "UTC") -> None:
        self.format, self._tz = fmt, resolve_tz(tz)
        self._cache: dict[str, float] = {}
        self.kind = fmt if fmt in _KEYWORDS else "strptime"
        self._regex: re.Pattern[str] | None = None
        self._fields: frozenset[str] = frozenset()
        if self.kind != "strptime":
            return
        parts: list[str] = []
        seen: set[str] = set()
        for piece in re.split(r"(%.?|\s+)", fmt, flags=re.S):
            if piece == "%%":
                parts.append("%")
            elif piece.startswith("%"):
                if piece[1:] not in _DIRECTIVES:
                    raise ValueError(f"timestamp format {fmt!r}: directive {piece} is not "
                                     f"supported (use %Y %y %m %d %j %H %I %p %M %S %f %b %B "
                                     f"%a %A %z %Z, or epoch, epoch_ms, iso8601)")
                group, regex = _DIRECTIVES[piece[1:]]
                if group and group in seen:
                    raise ValueError(f"timestamp format {fmt!r}: {piece} repeats a field")
                seen.add(group)
                parts.append(f"(?P<{group}>{regex})" if group else f"(?:{regex})")
            else:
                parts.append(r"\s+" if piece.isspace() else re.escape(piece))
        for a, b in _CONFLICTS:
            if a in seen and b in seen:
                raise ValueError(f"timestamp format {fmt!r}: %{a} and %{b} both give one field")
        if not ("j" in seen or ("d" in seen and ("m" in seen or "b" in seen))):
            raise ValueError(f"timestamp format {fmt!r} has no date: it needs %d with %m or "
                             f"%b, or %j")
        self._fields = frozenset(seen - {""})
        self._regex = re.compile("".join(parts))

    def __call__(self, text: str, observed_ts: float = 0.0) -> float:
        if self._regex is None:
            epoch = epoch_from_iso(text) if self.kind == "iso8601" else float(text)
            epoch = epoch / 1000.0 if self.kind == "epoch_ms" else epoch
            if not in_epoch_range(epoch):
                raise ValueError(f"timestamp {text[:64]!r} is out of range")
            return epoch
        text = text.strip()
        match = self._regex.fullmatch(text)
        if match is None:
            raise ValueError(f"{text[:64]!r} does not match timestamp format {self.format!r}")
        key, frac = text, 0.0
        if "f" in self._fields:
            start, end = match.span("f")
            key = text[:start] + text[end:]
            frac = int(text[start:end]) / 10.0 ** (end - start)
        if "Y" not in self._fields and "y" not in self._fields:
            key = f"{key}|{_year_of(observed_ts)}"
        base = self._cache.get(key)
        if base is None:
            base = self._second(match.groupdict(), observed_ts)
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            self._cache[key] = base
        return base + frac

    def _second(self, g: dict[str, str | None], observed_ts: float) -> float:
        num = {k: int(v) for k, v in g.items() if v is not None and k in "YymdjHIMS"}
        hour = num.get("H", 0)
        if "I" in num:
            if not 1 <= num["I"] <= 12:
                raise ValueError(f"12-hour clock hour {num['I']} is out of range")
            hour = num["I"] % 12 + (12 if (g.get("p") or "").lower() == "pm" else 0)
        offset, tz = 0, self._tz
        if g.get("z") is not None:
            offset, tz = _offset_seconds(g["z"] or ""), UTC
        elif g.get("Z") is not None:
            tz = UTC
        if "j" in num:
            if not 1 <= num["j"] <= 366:
                raise ValueError(f"day of year {num['j']} is out of range")
            month, day = 0, num["j"]
        else:
            name = g.get("b")
            month_or_none = _MONTHS.get(name.lower()) if name is not None else num["m"]
            if month_or_none is None:
                raise ValueError(f"unknown month name {name!r}")
            month, day = month_or_none, num["d"]
        clock = (hour, num.get("M", 0), num.get("S", 0), tz, offset)
        if "Y" in num or "y" in num:
            year = num["Y"] if "Y" in num else _two_digit_year(num["y"])
            return _date_epoch(year, month, day, *clock)
        year = _year_of(observed_ts)
        epoch = _date_epoch(year, month, day, *clock)
        if epoch > observed_ts + 7 * 86400:  # "Dec 31" read on Jan 1: last year
            epoch = _date_epoch(year - 1, month, day, *clock)
        return epoch


def _date_epoch(year: int, month: int, day: int, hour: int, minute: int, second: int,
                tz: tzinfo, offset: int) -> float:
    """``wall_epoch``; ``month == 0`` means ``day`` is the day of the year."""
    if month == 0:
        moment = date(year, 1, 1) + timedelta(days=day - 1) if year >= 1 else None
        if moment is None or moment.year != year:
            raise ValueError(f"day of year {day} is out of range in {year}")
        month, day = moment.month, moment.day
    return wall_epoch(year, month, day, hour, minute, second, tz, offset)


def _offset_seconds(zone: str) -> int:
    if zone in ("Z", "z"):
        return 0
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad UTC offset {zone!r}")
    return (hours * 3600 + minutes * 60) * (1 if zone[0] == "+" else -1)


def _two_digit_year(value: int) -> int:
    return value + (1900 if value >= 69 else 2000)  # POSIX/strptime pivot


def _year_of(epoch: float) -> int:
    try:
        return time.gmtime(epoch).tm_year
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"cannot infer a year from observed time {epoch!r}") from None
