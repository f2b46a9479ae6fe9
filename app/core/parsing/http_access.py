"""Apache / Nginx access logs: Common, Combined, and their common extensions.

Layouts (FORMATS.md §1-2)::

    %h %l %u %t "%r" %>s %b                                   common
    %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"    combined
    ... "$http_x_forwarded_for"                               nginx "main"
    ... %D   (microseconds)  or  $request_time  (seconds, "0.123")
    ... rt=0.123 uct="0.001" urt="0.120"                      key=value extensions

A trailing integer is Apache's ``%D`` (microseconds); a trailing decimal is nginx's
``$request_time`` (seconds). ``rt``/``request_time`` keys are seconds as well.
"""

from __future__ import annotations

import re

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext, stores_fields_only
from app.core.severity import severity_from_http_status, severity_text
from app.core.timeparse import ClfTimeParser

# "unrolled loop" form of a quoted string with backslash escapes: 3x faster than the
# per-character alternation (?:[^"\\]|\\.)* on long user agents
_Q = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
# the same, possessive: the loop can only end right before a quote, so never giving back
# what it matched changes no match, and saves the engine its backtracking bookkeeping
_QP = r'"([^"\\]*+(?:\\.[^"\\]*+)*+)"'
# head, then the usual tail in one match: "referrer" "agent" ["xff"] [duration]; anything
# else after that (key=value extensions) is tokenised separately. The head's runs are
# possessive too, as what follows each (a space, "]") is never part of the run.
_HEAD = re.compile(r"(\S++) (\S++) (\S++) \[([^\]]++)\] " + _QP + r" (\d{3}) (\d++|-)"
                   r"(?: " + _QP + " " + _QP + r")?(?: " + _QP + r")?(?: (\d+(?:\.\d+)?|-)(?= |$))?"
                   r"(.*)$")
# _HEAD for a line without a backslash, where each quoted string's unrolled loop can only
# be its first run: ``[^"]*+`` matches what ``[^"\\]*+(?:\\.[^"\\]*+)*+`` matches there,
# and the engine scans it with its single-character loop, far cheaper per character
_QN = r'"([^"]*+)"'
_HEAD_PLAIN = re.compile(r"(\S++) (\S++) (\S++) \[([^\]]++)\] " + _QN + r" (\d{3}) (\d++|-)"
                         r"(?: " + _QN + " " + _QN + r")?(?: " + _QN + r")?"
                         r"(?: (\d+(?:\.\d+)?|-)(?= |$))?(.*)$")
_TAIL_TOKEN = re.compile(r'\s*(?:' + _Q + r'|(\S+))')
_SECONDS_KEYS = frozenset({"rt", "request_time"})
_REQUEST_TIME_MS: dict[str, float] = {}  # "0.018" -> 18.0
_REQUEST_TIME_CACHE = 4096
#: (OTel number, canonical name) by HTTP status
_SEVERITY = tuple((number, severity_text(number))
                  for number in map(severity_from_http_status, range(1000)))
#: (status, OTel number, canonical name) by the status's three ASCII digits, "000"-"999":
#: one lookup instead of int() (other digits, which \d also matches, go through int())
_STATUS = {f"{status:03d}": (status, *_SEVERITY[status]) for status in range(1000)}
# parse() builds its HttpInfo and LogEvent slot by slot (no __init__ call: half the cost)
_new = object.__new__
if not (stores_fields_only(HttpInfo, (
        "method", "path", "route", "protocol", "status", "bytes", "duration_ms",
        "client_ip", "referrer", "user_agent", "ua"))
        and stores_fields_only(LogEvent, (
            "event_id", "ts", "observed_ts", "service", "message", "severity_number",
            "severity_text", "host", "env", "source_type", "source_name", "logger", "http",
            "geo", "trace_id", "span_id", "template_id", "is_error", "service_meta",
            "attrs", "parser", "parsed"))):
    raise RuntimeError("http_access: update HttpAccessParser.parse to HttpInfo's and "
                       "LogEvent's fields")


class HttpAccessParser:
    """Common and combined access-log lines (Apache and nginx)."""

    def __init__(self, name: str = "http_access") -> None:
        self.name = name
        self._clf_time = ClfTimeParser()

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection."""
        return _HEAD.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        escaped = "\\" in text
        match = (_HEAD if escaped else _HEAD_PLAIN).match(text)
        if match is None:
            raise ParseError(Reason.FORMAT_MISMATCH,
                             "line is not in Common or Combined Log Format", parser=self.name)
        (client, _ident, user, when, request, status_s, size_s, referrer, agent, xff,
         duration, tail) = match.groups()
        clf_time = self._clf_time
        if when == clf_time._last_text:  # ClfTimeParser's cache hit, inlined
            ts = clf_time._last_epoch
        else:
            try:
                ts = clf_time(when)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, str(exc), parser=self.name) from None
        if escaped and "\\" in request:
            request = _unescape(request)
        # _split_request() inlined
        parts = request.split(" ")
        if len(parts) == 3:
            method, path, protocol = parts
        elif len(parts) == 2:  # HTTP/0.9: no protocol
            (method, path), protocol = parts, None
        else:  # "-" or junk: the raw request stays the message
            method = path = protocol = None
        known = _STATUS.get(status_s)
        if known is not None:
            status, number, level = known
        else:
            status = int(status_s)
            number, level = _SEVERITY[status]  # three digits: 0-999
        attrs: dict[str, str] = {}
        if user != "-":
            attrs["user"] = user
        # HttpInfo(...), one store per field (see _new)
        http = _new(HttpInfo)
        http.method = method
        http.path = path
        http.route = None
        http.protocol = protocol
        http.status = status
        http.bytes = 0 if size_s == "-" else int(size_s)
        http.duration_ms = None
        http.client_ip = client
        # _unescape() inlined for the two fields of nearly every line
        # (without a backslash in the line, no field has one to unescape)
        http.referrer = (None if referrer is None or referrer == "-"
                         else _unescape(referrer) if escaped else referrer)
        http.user_agent = (None if agent is None or agent == "-"
                           else _unescape(agent) if escaped else agent)
        http.ua = None
        if xff is not None and xff != "-":
            attrs["forwarded_for"] = _unescape(xff) if escaped else xff
        if duration is not None and duration != "-":
            # nginx $request_time (seconds, millisecond resolution): few distinct values
            ms = _REQUEST_TIME_MS.get(duration)
            if ms is None and "." in duration and duration.isascii():
                ms = round(float(duration) * 1000.0, 3)
                if len(_REQUEST_TIME_MS) >= _REQUEST_TIME_CACHE:
                    _REQUEST_TIME_MS.clear()
                _REQUEST_TIME_MS[duration] = ms
            if ms is not None:
                http.duration_ms = ms
            else:
                self._bare(duration, http, attrs)
        if tail and not tail.isspace():
            self._tail(tail, http, attrs)
        # one unpacking instead of five attribute reads
        event_id, observed_ts, service, source_name, _depth = ctx
        # LogEvent(...), one store per field (see _new)
        event = _new(LogEvent)
        event.event_id = event_id
        event.ts = ts
        event.observed_ts = observed_ts
        event.service = service or source_name or "unknown"
        event.message = request
        event.severity_number = number
        event.severity_text = level
        event.host = None
        event.env = None
        event.source_type = "kafka"
        event.source_name = source_name
        event.logger = None
        event.http = http
        event.geo = None
        event.trace_id = None
        event.span_id = None
        event.template_id = None
        event.is_error = False
        event.service_meta = {}
        event.attrs = attrs
        event.parser = self.name
        event.parsed = True
        return event

    def _tail(self, tail: str, http: HttpInfo, attrs: dict[str, str]) -> None:
        """Extensions after the usual fields: ``key=value`` pairs, a duration, quoted extras."""
        extras: list[str] = []
        for token in _TAIL_TOKEN.finditer(tail):
            text, bare = token.group(1), token.group(2)
            if text is not None:
                extras.append(_unescape(text))
            elif bare is not None:
                self._bare(bare, http, attrs)
        if extras:
            attrs["extra"] = " | ".join(extras)

    def _bare(self, field: str, http: HttpInfo, attrs: dict[str, str]) -> None:
        if field == "-":
            return
        key, sep, value = field.partition("=")
        if sep:
            value = value.strip('"')
            if key in _SECONDS_KEYS and http.duration_ms is None:
                http.duration_ms = _seconds_ms(value, self.name)
            attrs[key] = value
        elif field.isascii() and field.isdigit():
            http.duration_ms = int(field) / 1000.0  # Apache %D: microseconds
        elif field.isascii() and field.replace(".", "", 1).isdigit():
            http.duration_ms = _seconds_ms(field, self.name)  # nginx $request_time
        else:
            raise ParseError(Reason.FORMAT_MISMATCH, f"unexpected trailing field {field[:64]!r}",
                             parser=self.name)


def _seconds_ms(value: str, parser: str) -> float | None:
    if value in ("-", ""):
        return None
    try:
        return round(float(value) * 1000.0, 3)
    except ValueError:
        raise ParseError(Reason.BAD_FIELD, f"request time {value[:32]!r} is not a number",
                         parser=parser) from None


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\") if "\\" in text else text


def _split_request(request: str) -> tuple[str | None, str | None, str | None]:
    parts = request.split(" ")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:  # HTTP/0.9: no protocol
        return parts[0], parts[1], None
    return None, None, None  # "-" or junk: the raw request stays the message
