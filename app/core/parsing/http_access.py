"""Apache / Nginx access logs: Common Log Format and Combined (nginx "main" too).

Layouts (FORMATS.md §1-2)::

    %h %l %u %t "%r" %>s %b                                  common
    %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"   combined
    ... "$http_x_forwarded_for"                              nginx main (extra quoted field)
"""

from __future__ import annotations

import re

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import severity_from_http_status, severity_text
from app.core.timeparse import ClfTimeParser

_Q = r'"((?:[^"\\]|\\.)*)"'
_LINE = re.compile(
    r"(\S+) (\S+) (\S+) \[([^\]]+)\] " + _Q + r" (\d{3}) (\d+|-)"
    r"(?: " + _Q + " " + _Q + r")?"
    r"(?: " + _Q + r")?\s*$"
)


class HttpAccessParser:
    """Common and combined access-log lines."""

    name = "http_access"

    def __init__(self) -> None:
        self._clf_time = ClfTimeParser()

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection."""
        return _LINE.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        match = _LINE.match(text)
        if match is None:
            raise ParseError(Reason.FORMAT_MISMATCH,
                             "line is not in Common or Combined Log Format", parser=self.name)
        client, _ident, user, when, request, status_s, size_s, referrer, agent, xff = (
            match.groups())
        try:
            ts = self._clf_time(when)
        except ValueError as exc:
            raise ParseError(Reason.BAD_FIELD, str(exc), parser=self.name) from None
        method, path, protocol = _split_request(request)
        status = int(status_s)
        number = severity_from_http_status(status)
        attrs: dict[str, str] = {}
        if user != "-":
            attrs["user"] = user
        if xff and xff != "-":
            attrs["forwarded_for"] = xff
        return LogEvent(
            event_id=ctx.event_id,
            ts=ts,
            observed_ts=ctx.observed_ts,
            service=ctx.service or ctx.source_name or "unknown",
            message=request,
            severity_number=number,
            severity_text=severity_text(number),
            source_name=ctx.source_name,
            http=HttpInfo(
                method=method,
                path=path,
                protocol=protocol,
                status=status,
                bytes=0 if size_s == "-" else int(size_s),
                client_ip=client,
                referrer=None if referrer in (None, "-") else referrer,
                user_agent=None if agent in (None, "-") else agent,
            ),
            attrs=attrs,
            parser=self.name,
        )


def _split_request(request: str) -> tuple[str | None, str | None, str | None]:
    parts = request.split(" ")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:  # HTTP/0.9: no protocol
        return parts[0], parts[1], None
    return None, None, None  # "-" or junk: keep the raw request as the message
