"""User-defined line formats: a regex with named groups plus a timestamp format.

Also home of the wall-clock helpers the fixed-format parsers share (``resolve_tz``,
``wall_epoch``, ``in_epoch_range``) and of ``TimeFormat``: a strptime-style format
compiled once into a regex, so no line ever goes through ``strptime`` (PERF-NOTES §2.1).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import severity_from_http_status, severity_number, severity_text
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


_HTTP_FIELDS = ("method", "path", "status", "client_ip", "duration_ms", "protocol", "bytes",
                "referrer", "user_agent")
_CANONICAL = frozenset(("ts", "timestamp", "level", "message", "msg", "service", "host",
                        "logger", "trace_id", "span_id", "env", *_HTTP_FIELDS))


class PatternParser:
    """A per-source format: ``regex`` named groups map to event fields.

    Groups ``ts``/``timestamp``, ``level``, ``message``/``msg``, ``service``, ``host``,
    ``logger``, ``trace_id``, ``span_id``, ``env``, ``method``, ``path``, ``status``,
    ``protocol``, ``bytes``, ``client_ip``, ``duration_ms``, ``referrer``, ``user_agent``
    fill the event; other groups go to ``attrs``. ``field_map`` renames groups
    (``{"lvl": "level"}``; several groups may fill one field, the last one that
    matched wins). The regex is applied with ``re.match`` (anchored at the
    start); lines the regex leaves after a newline (a folded traceback) are appended
    to the message. Construction raises ValueError naming the problem.
    """

    def __init__(self, name: str, regex: str, timestamp_format: str | None = None,
                 tz: str | tzinfo = "UTC", field_map: Mapping[str, str] | None = None) -> None:
        self.name = name
        try:
            self._regex = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"pattern {name!r}: regex does not compile: {exc}") from None
        groups = self._regex.groupindex
        renames = dict(field_map or {})
        unknown = sorted(set(renames) - set(groups))
        if unknown:
            raise ValueError(f"pattern {name!r}: field_map names groups the regex does not "
                             f"define: {', '.join(unknown)}")
        self._targets = tuple((group, renames.get(group, group)) for group in groups)
        targets = {target for _, target in self._targets}
        if "message" not in targets and "msg" not in targets:
            raise ValueError(f"pattern {name!r}: regex needs a (?P<message>...) or "
                             f"(?P<msg>...) group")
        has_ts = "ts" in targets or "timestamp" in targets
        if timestamp_format is not None and not has_ts:
            raise ValueError(f"pattern {name!r}: timestamp_format is set but the regex has "
                             f"no (?P<ts>...) or (?P<timestamp>...) group")
        try:
            resolve_tz(tz)
            self._time = TimeFormat(timestamp_format or "iso8601", tz) if has_ts else None
        except ValueError as exc:
            raise ValueError(f"pattern {name!r}: {exc}") from None

    def matches(self, text: str) -> bool:
        return self._regex.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        match = self._regex.match(text)
        if match is None:
            raise ParseError(Reason.FORMAT_MISMATCH, f"line does not match pattern {self.name!r}",
                             parser=self.name)
        values = match.groupdict()
        fields: dict[str, str] = {}
        attrs: dict[str, str] = {}
        for group, target in self._targets:
            value = values[group]
            if value is not None:
                (fields if target in _CANONICAL else attrs)[target] = value
        message = fields.get("message", fields.get("msg", ""))
        if text.startswith("\n", match.end()):
            message += text[match.end():]
        raw_ts = fields.get("ts") or fields.get("timestamp")
        ts = ctx.observed_ts
        if raw_ts and self._time is not None:
            try:
                ts = self._time(raw_ts, ctx.observed_ts)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, f"timestamp: {exc}", parser=self.name) from None
        http = self._http(fields) if any(f in fields for f in _HTTP_FIELDS) else None
        level = fields.get("level") or None
        number = severity_number(level)
        if level is None and http is not None and http.status is not None:
            number = severity_from_http_status(http.status)
        return LogEvent(
            event_id=ctx.event_id, ts=ts, observed_ts=ctx.observed_ts,
            service=ctx.service or fields.get("service") or ctx.source_name or "unknown",
            message=message, severity_number=number,
            severity_text=level or severity_text(number),
            host=fields.get("host") or None, env=fields.get("env") or None,
            source_name=ctx.source_name, logger=fields.get("logger") or None, http=http,
            trace_id=fields.get("trace_id") or None, span_id=fields.get("span_id") or None,
            attrs=attrs, parser=self.name,
        )

    def _http(self, fields: dict[str, str]) -> HttpInfo:
        try:
            status = _bounded(fields, "status", int, 100, 999)
            size = _bounded(fields, "bytes", int, 0, 2**63 - 1)
            duration = _bounded(fields, "duration_ms", float, -1e15, 1e15)
        except ValueError as exc:
            raise ParseError(Reason.BAD_FIELD, f"http field {exc}", parser=self.name) from None
        get = fields.get
        return HttpInfo(
            method=get("method") or None, path=get("path") or None,
            protocol=get("protocol") or None, status=status, bytes=size, duration_ms=duration,
            client_ip=get("client_ip") or None, referrer=get("referrer") or None,
            user_agent=get("user_agent") or None,
        )


def _bounded(fields: dict[str, str], key: str, kind: type[int] | type[float], low: float,
             high: float) -> Any:
    """``kind(fields[key])`` within [low, high] (NaN never is); None for missing, ``""``, ``-``."""
    raw = fields.get(key)
    if raw is None or raw in ("", "-"):
        return None
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"{key}={raw[:40]!r} is not a number in range")
    return value
