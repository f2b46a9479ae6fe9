"""Pieces shared by the syslog parsers: PRI decoding, severities, cached timestamps.

PRI = facility * 8 + severity, 0-191 (FORMATS.md §3). Severities map to OpenTelemetry
numbers with the constants of ``app.core.severity`` (FORMATS.md §7); the event keeps the
syslog name (``err``, ``warning``...) as ``severity_text``.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import DEBUG, ERROR, FATAL, INFO, WARN

FACILITIES: tuple[str, ...] = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)
SEVERITIES: tuple[str, ...] = ("emerg", "alert", "crit", "err", "warning", "notice", "info",
                               "debug")
#: OTel severity number of each syslog severity (index = syslog severity 0-7).
OTEL_NUMBERS: tuple[int, ...] = (FATAL + 3, FATAL + 2, FATAL, ERROR, WARN, INFO + 1, INFO,
                                 DEBUG)
MAX_PRI = 191
#: Event times ``LogEvent.to_doc`` can render: years 1-9999.
MIN_EPOCH, MAX_EPOCH = -62_135_596_800 + 86_400, 253_402_300_799


class Pri:
    """A decoded PRI value."""

    __slots__ = ("facility", "facility_name", "severity", "severity_name", "severity_number",
                 "value")

    def __init__(self, value: int) -> None:
        self.value = value
        self.facility, self.severity = divmod(value, 8)
        self.facility_name = FACILITIES[self.facility]
        self.severity_name = SEVERITIES[self.severity]
        self.severity_number = OTEL_NUMBERS[self.severity]


_PRIS: tuple[Pri, ...] = tuple(Pri(v) for v in range(MAX_PRI + 1))


_PRI_BY_TEXT: dict[str, Pri] = {str(p.value): p for p in _PRIS}


def decode_pri(digits: str, parser: str) -> Pri:
    """The PRI of the digits between ``<`` and ``>``; ``BAD_FIELD`` outside 0-191."""
    pri = _PRI_BY_TEXT.get(digits)
    if pri is not None:
        return pri
    if not digits.isascii() or not digits.isdigit() or int(digits) > MAX_PRI:
        raise ParseError(Reason.BAD_FIELD, f"PRI <{digits[:8]}> is not 0-191", parser=parser)
    return _PRIS[int(digits)]  # leading zeros, as in <013>


def resolve_tz(tz: str | tzinfo) -> tzinfo:
    """A tzinfo from a zone name (``Europe/Paris``) or a tzinfo; raises ``ValueError``."""
    if isinstance(tz, tzinfo):
        return tz
    if tz.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def wall_to_epoch(year: int, month: int, day: int, hour: int, minute: int, second: int,
                  tz: tzinfo) -> int:
    """Epoch seconds of a wall-clock time in ``tz`` (first occurrence when ambiguous)."""
    if tz is UTC:
        return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return int(datetime(year, month, day, hour, minute, second, tzinfo=tz).timestamp())


def valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


_SCALE = tuple(10.0 ** n for n in range(10))


class Rfc3339Cache:
    """Epoch seconds of RFC 3339 timestamps, cached per second (no strptime).

    ``__call__`` takes the pieces a regex already split: ``YYYY-MM-DDTHH:MM:SS``, the
    fraction digits (or None) and the offset (``Z`` or ``±hh:mm``). It raises
    ``ValueError`` for an impossible date or time.
    """

    __slots__ = ("_cache", "_last_base", "_last_offset", "_last_second")
    _LIMIT = 4096

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], int] = {}
        self._last_second, self._last_offset, self._last_base = "", "", 0

    def __call__(self, second: str, fraction: str | None, offset: str) -> float:
        if second == self._last_second and offset == self._last_offset:
            base = self._last_base
        else:
            key = (second, offset)
            cached = self._cache.get(key)
            if cached is None:
                cached = _rfc3339_second(second, offset)
                if len(self._cache) >= self._LIMIT:
                    self._cache.clear()
                self._cache[key] = cached
            base = cached
            self._last_second, self._last_offset, self._last_base = second, offset, base
        if fraction:
            return base + int(fraction) / _SCALE[len(fraction)]
        return float(base)


def _rfc3339_second(second: str, offset: str) -> int:
    # YYYY-MM-DDTHH:MM:SS, already shape-checked by the caller's regex
    year, month, day = int(second[0:4]), int(second[5:7]), int(second[8:10])
    hour, minute, sec = int(second[11:13]), int(second[14:16]), int(second[17:19])
    if not valid_date(year, month, day) or hour > 23 or minute > 59 or sec > 60:
        raise ValueError(f"impossible timestamp {second!r}")
    if offset in ("Z", "z"):
        shift = 0
    else:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"impossible offset {offset!r}")
        shift = (hours * 3600 + minutes * 60) * (-1 if offset[0] == "-" else 1)
    epoch = calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0)) - shift
    if not MIN_EPOCH <= epoch <= MAX_EPOCH:
        raise ValueError(f"timestamp {second}{offset} is out of range")
    return epoch


def build_event(ctx: RecordContext, parser: str, ts: float, message: str, pri: Pri | None,
                host: str | None, program: str | None, attrs: dict[str, object]) -> LogEvent:
    """The canonical event of a syslog message (shared by both RFC parsers).

    Called with positional arguments, in this order: keywords cost more per line.
    """
    if pri is not None:
        attrs["facility"] = pri.facility_name
        number, text = pri.severity_number, pri.severity_name
    else:
        number, text = 0, ""  # no PRI: the enrichment stage guesses from the text
    if program is not None:
        attrs["program"] = program
    # positional, in LogEvent's field order
    return LogEvent(
        ctx.event_id, ts, ctx.observed_ts,
        ctx.service or program or ctx.source_name or "unknown",  # service
        message, number, text, host, None, "kafka", ctx.source_name,  # .. source_name
        None, None, None, None, None, None, False,  # logger .. is_error
        {}, attrs, parser)  # service_meta, attrs, parser
