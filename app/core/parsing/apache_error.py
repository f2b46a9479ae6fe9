"""Apache httpd error log, 2.2 and 2.4 layouts (FORMATS.md §1, severity §7).

::

    [Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden by rule
    [Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416]
        [client 72.15.99.187:51234] AH00128: File does not exist: /htdocs/favicon.ico

(the second is one line). Also the optional 2.4 ``file.c(123):`` source and
``(111)Connection refused:`` OS-error parts, and a trailing ``, referer: URL``.
Neither layout carries a zone: the instance's ``tz`` applies.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import DEBUG, ERROR, FATAL, INFO, TRACE, WARN
from app.core.timeformat import CACHE_MAX, resolve_tz, wall_epoch

_LINE = re.compile(
    r"\[((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)"  # 1 time
    r"(?:\.(\d{1,6}))? (\d{4})\] "  # 2 microseconds, 3 year
    r"\[(?:([^\]\s:]*):)?([a-z]+\d?)\]"  # 4 module, 5 level
    r"(?: \[pid (\d{1,18})(?::tid (\d{1,19}))?\])?"  # 6 pid, 7 tid
    r"(?: ([^\s\[\]()]+\(\d+\)):)?"  # 8 source file(line)
    r"(?: (\(-?\d+\)[^:\[\]]*):)?"  # 9 OS error
    r"(?: \[client (\[[^\]]*\](?::\d+)?|[^\]\s]*)\])?"  # 10 client
    r" ?(.*)", re.S)  # 11 message
_LEVELS = {"emerg": FATAL + 2, "alert": FATAL + 1, "crit": FATAL, "error": ERROR,
           "warn": WARN, "notice": INFO + 1, "info": INFO, "debug": DEBUG,
           **{f"trace{n}": TRACE for n in range(1, 9)}}
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_REFERER = ", referer: "


class ApacheErrorParser:
    """Apache 2.2 / 2.4 error-log lines."""

    name = "apache_error"

    def __init__(self, tz: str | tzinfo = "UTC") -> None:
        self._tz = resolve_tz(tz)
        self._seconds: dict[str, float] = {}

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection."""
        return text.startswith("[") and _LINE.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        match = _LINE.match(text)
        if match is None:
            raise ParseError(Reason.FORMAT_MISMATCH, "line is not an Apache error-log line",
                             parser=self.name)
        when, micros, year, module, level, pid, tid, source, os_error, client, message = (
            match.groups())
        number = _LEVELS.get(level)
        if number is None:
            raise ParseError(Reason.BAD_FIELD, f"unknown Apache log level {level!r}",
                             parser=self.name)
        ts = self._epoch(when, year)
        if micros:
            ts += int(micros) / 10.0 ** len(micros)
        attrs: dict[str, object] = {}
        if module:
            attrs["module"] = module
        if pid:
            attrs["pid"] = int(pid)
        if tid:
            attrs["tid"] = int(tid)
        if source:
            attrs["source"] = source
        if os_error:
            attrs["os_error"] = os_error
        referrer = None
        cut = message.rfind(_REFERER)
        if cut >= 0 and not any(c.isspace() for c in message[cut + len(_REFERER):]):
            message, referrer = message[:cut], message[cut + len(_REFERER):]
        if message[:2] == "AH" and message[7:9] == ": " and message[2:7].isdigit():
            attrs["code"] = message[:7]
            message = message[9:]
        http = None
        if client or referrer:
            is_24 = micros is not None or module is not None or pid is not None
            http = HttpInfo(client_ip=_client_ip(client, is_24) if client else None,
                            referrer=referrer or None)
        return LogEvent(
            event_id=ctx.event_id, ts=ts, observed_ts=ctx.observed_ts,
            service=ctx.service or ctx.source_name or "unknown", message=message,
            severity_number=number, severity_text=level, source_name=ctx.source_name,
            http=http, attrs=attrs, parser=self.name,
        )

    def _epoch(self, when: str, year: str) -> float:
        key = when + year
        epoch = self._seconds.get(key)
        if epoch is None:
            month = _MONTHS.get(when[4:7])
            try:
                if month is None:
                    raise ValueError(f"unknown month {when[4:7]!r}")
                epoch = wall_epoch(int(year), month, int(when[8:10]), int(when[11:13]),
                                   int(when[14:16]), int(when[17:19]), self._tz)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, f"time {when} {year}: {exc}",
                                 parser=self.name) from None
            if len(self._seconds) >= CACHE_MAX:
                self._seconds.clear()
            self._seconds[key] = epoch
        return epoch


def _client_ip(client: str, has_port: bool) -> str | None:
    """The address of ``[client ...]``: ``1.2.3.4``, ``1.2.3.4:5``, ``[::1]:5``, ``::1:5``.

    2.4 always appends the port (IPv6 unbracketed); 2.2 never does.
    """
    if client.startswith("[") and "]" in client:
        return client[1:client.index("]")] or None
    colons = client.count(":")
    if colons == 1 or (colons > 1 and has_port):
        host, _, port = client.rpartition(":")
        if port.isdigit() and host:
            return host
    return client or None
