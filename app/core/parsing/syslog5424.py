"""RFC 5424 syslog.

``<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]``
(FORMATS.md §3). Every header field may be the NILVALUE ``-``; a ``-`` timestamp means
the receive time. Structured data ``[id k="v"][id2 ...]`` becomes
``attrs["sd"] = {id: {param: value}}`` (a repeated param keeps all its values in a list).
"""

from __future__ import annotations

import re
from typing import Any

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.parsing.syslog_common import Rfc3339Cache, build_event, decode_pri

# TIMESTAMP is NILVALUE, RFC 3339 (split into second, fraction, offset) or anything else
# (group 6: an impossible timestamp is a bad field, not another format)
_HEADER = re.compile(
    r"<(\d{1,6})>(\d{1,3}) "
    r"(?:-|(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)|(\S++)) "
    r"(\S++) (\S++) (\S++) (\S++)(?: (.*))?\Z",
    re.S | re.A,
)
_PREFIX = re.compile(r"<\d{1,3}>[1-9]\d{0,2} ", re.A)
_SD_NAME = re.compile(r'[^\s=\]"]{1,32}(?=[ \]])')
_SD_PARAM = re.compile(r' ([^\s=\]"]{1,32})="([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
_SD_UNESCAPE = re.compile(r'\\([\\"\]])')
_BOM = "\ufeff"
_LIMITS = (("HOSTNAME", 255), ("APP-NAME", 48), ("PROCID", 128), ("MSGID", 32))


class Syslog5424Parser:
    """RFC 5424 messages (the default of rsyslog, syslog-ng and ``logger`` for remote)."""

    name = "syslog5424"

    def __init__(self) -> None:
        self._ts = Rfc3339Cache()

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection: ``<PRI>VERSION SP``."""
        return _PREFIX.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        head = _HEADER.match(text)
        if head is None:
            raise ParseError(Reason.FORMAT_MISMATCH, "line is not RFC 5424 syslog",
                             parser=self.name)
        (pri_s, version, second, fraction, offset, bad_ts, host, app, procid, msgid,
         rest) = head.groups()
        pri = decode_pri(pri_s, self.name)
        if version[0] == "0":
            raise ParseError(Reason.BAD_FIELD, f"VERSION {version!r}", parser=self.name)
        if len(host) > 255 or len(app) > 48 or len(procid) > 128 or len(msgid) > 32:
            for (field, limit), value in zip(_LIMITS, (host, app, procid, msgid), strict=True):
                if len(value) > limit:
                    raise ParseError(Reason.BAD_FIELD, f"{field} longer than {limit}",
                                     parser=self.name)
        if second is not None:
            try:
                ts = self._ts(second, fraction, offset)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, str(exc), parser=self.name) from None
        elif bad_ts is not None:
            raise ParseError(Reason.BAD_FIELD, f"TIMESTAMP {bad_ts[:40]!r} is not RFC 3339",
                             parser=self.name)
        else:
            ts = ctx.observed_ts
        sd, message = self._structured(rest or "")
        if message.startswith(_BOM):
            message = message[1:]
        attrs: dict[str, object] = {}
        if procid != "-":
            attrs["pid"] = int(procid) if procid.isascii() and procid.isdigit() else procid
        if msgid != "-":
            attrs["msgid"] = msgid
        if sd:
            attrs["sd"] = sd
        return build_event(ctx, parser=self.name, ts=ts, message=message, pri=pri,
                           host=None if host == "-" else host,
                           program=None if app == "-" else app, attrs=attrs)

    def _structured(self, rest: str) -> tuple[dict[str, dict[str, Any]], str]:
        """Structured data and the message after it."""
        if not rest or rest == "-":
            return {}, ""
        if rest.startswith("- "):
            return {}, rest[2:]
        if rest[0] != "[":
            raise ParseError(Reason.BAD_FIELD, "STRUCTURED-DATA is neither '-' nor '[...]'",
                             parser=self.name)
        sd: dict[str, dict[str, Any]] = {}
        pos, end = 0, len(rest)
        while True:
            name = _SD_NAME.match(rest, pos + 1)
            if name is None:
                raise self._bad_sd("SD-ID", pos)
            params = sd.setdefault(name.group(), {})
            pos = name.end()
            while (param := _SD_PARAM.match(rest, pos)) is not None:
                key, value = param.groups()
                if "\\" in value:
                    value = _SD_UNESCAPE.sub(r"\1", value)
                previous = params.get(key)
                if previous is None:
                    params[key] = value
                elif isinstance(previous, list):
                    previous.append(value)
                else:
                    params[key] = [previous, value]
                pos = param.end()
            if pos >= end or rest[pos] != "]":
                raise self._bad_sd("SD-PARAM", pos)
            pos += 1
            if pos == end:
                return sd, ""
            if rest[pos] == " ":
                return sd, rest[pos + 1:]
            if rest[pos] != "[":
                raise self._bad_sd("SD-ELEMENT", pos)

    def _bad_sd(self, what: str, pos: int) -> ParseError:
        return ParseError(Reason.BAD_FIELD, f"malformed {what} in STRUCTURED-DATA at {pos}",
                          parser=self.name)
