"""RFC 3164 (BSD) syslog, on the wire (``<PRI>``) and in files (no PRI).

Layouts (FORMATS.md §3)::

    <34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8
    Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; ...
    2026-11-22T04:00:00.123456+00:00 host tag[pid]: msg      (rsyslog RSYSLOG_FileFormat)

The BSD timestamp has no year and no zone: the zone is the parser's (per-source
configuration picks the instance) and the year is the one of the receive time, minus one
when that would put the line more than a day in the future (a Dec 31 line read on Jan 1),
plus one when the line is just past a New Year the receiver has not reached yet.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.parsing.syslog_common import (
    Pri,
    Rfc3339Cache,
    build_event,
    decode_pri,
    resolve_tz,
    valid_date,
    wall_to_epoch,
)

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_DAY = 86_400
_CACHE_LIMIT = 4096

# TAG[PID]: the tag is up to 32 characters other than space, brackets and colon, so
# sshd(pam_unix), postfix/smtpd and org.gnome.Shell are tags; an IPv6 host never is.
_TAG = r"([^\s\[\]:]{1,32}+)(?:\[(\d{1,10})\])?:(?: ++|\Z)"
# PRI? TIMESTAMP (BSD or ISO), then either TAG (a sender that left out its host) or
# HOSTNAME [TAG] (a second word that is not a tag starts the message), then MSG.
_LINE = re.compile(
    r"(?:<(\d{1,6})>)?"
    r"(?:([A-Za-z]{3} {1,2}\d{1,2} \d\d:\d\d):(\d\d)"  # Mmm dd hh:mm + :ss
    r"|(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d))"
    r"(?: ++(?:" + _TAG + r"|(\S++)(?: ++(?:" + _TAG + r")?)?)(.*))? *\Z",
    re.S | re.A,
)
# Auto-detection runs before other formats: claim a BSD timestamp only with a real month,
# and an ISO one (common to many formats) only followed by a zone, a host that is not a
# level word and a TAG:
_PREFIX = re.compile(
    r"(?:<\d{1,3}>)?(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]?\d "
    r"\d\d:\d\d:\d\d(?: |\Z)"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d) "
    r"(?!(?i:trace|debug|info|notice|warn|warning|error|err|crit|critical|fatal)\b)"
    r"\S+ [^\s\[\]:]{1,32}(?:\[\d{1,10}\])?:(?: |\Z))", re.A)


class Syslog3164Parser:
    """BSD syslog lines; ``tz`` is the zone of timestamps that carry none."""

    name = "syslog3164"

    def __init__(self, tz: str | tzinfo = "UTC") -> None:
        self.tz = resolve_tz(tz)
        self._iso = Rfc3339Cache()
        self._minutes: dict[tuple[str, int], int] = {}
        self._year, self._year_start, self._year_end = 0, 1.0, 0.0

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection (timestamp shape after the optional PRI)."""
        return _PREFIX.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        line = _LINE.match(text)
        if line is None:
            raise ParseError(Reason.FORMAT_MISMATCH, "line is not RFC 3164 syslog",
                             parser=self.name)
        (pri_s, minute, sec, iso_s, frac, offset, tag1, pid1, host, tag2, pid2,
         message) = line.groups()
        pri: Pri | None = decode_pri(pri_s, self.name) if pri_s is not None else None
        if minute is not None:
            observed = ctx.observed_ts
            second = int(sec)
            # _bsd_ts() for a minute of the receive year already seen (nearly every line)
            base = (self._minutes.get((minute, self._year))
                    if self._year_start <= observed < self._year_end and second <= 60
                    else None)
            if base is not None and observed - 364 * _DAY <= base + second <= observed + _DAY:
                ts = float(base + second)
            else:
                ts = self._bsd_ts(minute, second, observed)
        else:
            try:
                ts = self._iso(iso_s, frac, offset)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, str(exc), parser=self.name) from None
        pid = pid1 or pid2
        return build_event(ctx, self.name, ts, message or "", pri, host, tag1 or tag2,
                           {} if pid is None else {"pid": int(pid)})

    # ------------------------------------------------------------------ timestamps
    def _bsd_ts(self, minute: str, second: int, observed: float) -> float:
        if second > 60:
            raise ParseError(Reason.BAD_FIELD, f"second {second} out of range",
                             parser=self.name)
        year = self._year_of(observed)
        base = self._minute_epoch(minute, year, strict=False)
        if base is None or base + second > observed + _DAY:
            # Dec 31 line received on Jan 1 (or Feb 29 read in a common year): last year's
            base = self._minute_epoch(minute, year - 1)
        elif base + second < observed - 364 * _DAY:  # Jan 1 line, receiver still on Dec 31
            ahead = self._minute_epoch(minute, year + 1, strict=False)
            if ahead is not None and ahead + second <= observed + _DAY:
                base = ahead
        assert base is not None  # strict lookups raise instead
        return float(base + second)

    def _minute_epoch(self, minute: str, year: int, *, strict: bool = True) -> int | None:
        """Epoch of ``Mmm dd hh:mm`` in ``year``; None (or BAD_FIELD if strict) if impossible."""
        key = (minute, year)
        cached = self._minutes.get(key)
        if cached is not None:
            return cached
        month = _MONTHS.get(minute[:3])
        if month is None:
            raise ParseError(Reason.BAD_FIELD, f"unknown month {minute[:3]!r}",
                             parser=self.name)
        day_s, clock = minute[3:].split()
        day, hour, mins = int(day_s), int(clock[:2]), int(clock[3:5])
        if not valid_date(year, month, day) or hour > 23 or mins > 59:
            if not strict:
                return None
            raise ParseError(Reason.BAD_FIELD, f"impossible date/time {minute!r} in {year}",
                             parser=self.name)
        epoch = wall_to_epoch(year, month, day, hour, mins, 0, self.tz)
        if len(self._minutes) >= _CACHE_LIMIT:
            self._minutes.clear()
        self._minutes[key] = epoch
        return epoch

    def _year_of(self, observed: float) -> int:
        if self._year_start <= observed < self._year_end:
            return self._year
        try:
            year = datetime.fromtimestamp(observed, tz=self.tz).year
            if not 2 <= year <= 9998:
                raise ValueError(year)
            start = wall_to_epoch(year, 1, 1, 0, 0, 0, self.tz)
            end = wall_to_epoch(year + 1, 1, 1, 0, 0, 0, self.tz)
        except (OverflowError, OSError, ValueError):
            raise ParseError(Reason.BAD_FIELD, f"receive time {observed!r} out of range",
                             parser=self.name) from None
        self._year, self._year_start, self._year_end = year, start, end
        return year
