"""logfmt: ``key=value`` pairs (Heroku/Brandur convention, FORMATS.md §5).

::

    at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" connect=4ms
    service=8ms status=200        (one line; service= is the request duration here)

Values may be double-quoted with ``\\"``/``\\\\`` escapes (``\\n``, ``\\t``, ``\\r`` too);
a bare ``key`` is a flag (``True``); ``key=`` is the empty string; a key that appears
twice keeps all its values as a list. The parse is lenient: an unterminated quote
runs to the end of the line, and stray tokens (``"text"`` or ``=x`` without a key)
are kept, space-joined, in ``attrs["_unparsed"]``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import severity_from_http_status, severity_number, severity_text
from app.core.timeformat import in_epoch_range
from app.core.timeparse import epoch_from_iso, epoch_from_iso_utc, epoch_from_number

# key, "=", quoted value (the closing quote is optional), bare value, stray token
_TOKEN = re.compile(
    r'([^\s="]+)(?:(=)(?:"([^"\\]*(?:\\.[^"\\]*)*)"?|([^\s"]*)))?'
    r'|("[^"\\]*(?:\\.[^"\\]*)*"?|[^\s"]+)',
    re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_UNESCAPED = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_START = re.compile(r"[A-Za-z_][\w.\-/]*=")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)
_DURATION = re.compile(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+", re.ASCII)
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3,
            "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
_GO_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d\d)(\d\d)(?: .*)?")

# key -> role, in priority order (the first key of a role that fits wins; the rest stay in
# attrs). "service" is a duration when it has a unit (Heroku router), else the service name.
_ROLES: dict[str, str] = {
    "ts": "ts", "timestamp": "ts", "time": "ts", "t": "ts",
    "level": "level", "lvl": "level", "severity": "level", "at": "level",
    "duration": "duration", "latency": "duration", "elapsed": "duration",
    "service": "service", "connect": "duration", "duration_ms": "duration",
    "latency_ms": "duration", "elapsed_ms": "duration", "response_time_ms": "duration",
    "app": "service", "msg": "message", "message": "message", "host": "host",
    "env": "env", "environment": "env", "logger": "logger",
    "trace_id": "trace_id", "traceID": "trace_id", "trace.id": "trace_id",
    "span_id": "span_id", "spanID": "span_id", "span.id": "span_id",
    "method": "method", "path": "path", "status": "status", "bytes": "bytes",
    "client_ip": "client_ip",
}
_RANK = {key: rank for rank, key in enumerate(_ROLES)}
_MAPPED = frozenset(_ROLES)
_MS_KEYS = frozenset(("duration_ms", "latency_ms", "elapsed_ms", "response_time_ms"))
_NUMERIC_KEYS = frozenset(("bytes", "size", "pid", "tid", "port", "line", "lineno", "count",
                           "attempt", "retries", *_MS_KEYS))
_CONVERTED = frozenset(("ts", "level", "duration", "status", "bytes"))
_HTTP_ROLES = frozenset(("duration", "status", "bytes", "method", "path", "client_ip"))
#: the mapped keys of a line -> (key, role, plain text?) by rank
_ORDER: dict[frozenset[str], tuple[tuple[str, str, bool], ...]] = {}
_ORDER_MAX = 1024
_DURATION_START = frozenset("+-.0123456789")  # what _DURATION can match first


def parse_duration_ms(text: str) -> float:
    """Milliseconds of a Go-style duration: ``4ms``, ``1.5s``, ``250us``, ``1h2m3.5s``.

    Units: ns, us/µs, ms, s, m, h; a sign is allowed; a bare number is only valid as
    ``0``. Raises ValueError for anything else.
    """
    unit = text[-2:] if text[-2:] in _UNIT_MS else text[-1:]
    number = text[:-len(unit)] if unit in _UNIT_MS else ""
    if number.isascii() and number.replace(".", "", 1).isdigit():  # fast path: one unit
        total = float(number) * _UNIT_MS[unit]
    elif text in ("0", "+0", "-0"):
        return 0.0
    elif _DURATION.fullmatch(text) is None:
        raise ValueError(f"not a duration: {text[:64]!r}")
    else:
        total = sum(float(n) * _UNIT_MS[u] for n, u in _DURATION_PART.findall(text))
        total = -total if text[0] == "-" else total
    if not math.isfinite(total):
        raise ValueError(f"duration out of range: {text[:64]!r}")
    return total


def parse_pairs(text: str) -> tuple[dict[str, Any], list[str]]:
    """The ``key=value`` pairs of a line (values str, True or lists) and stray tokens."""
    fields: dict[str, Any] = {}
    stray: list[str] = []
    if "\\" in text or text.count('"') % 2:
        for key, eq, quoted, bare, junk in _TOKEN.findall(text):
            if junk:
                stray.append(junk)
            else:
                _put(fields, key, (bare or (_unescape(quoted) if "\\" in quoted else quoted))
                     if eq else True)
        return fields, stray
    # fast path (no backslash, balanced quotes): the same result as _TOKEN, 2x faster
    parts = text.split('"')
    last = len(parts) - 1
    pending: str | None = None
    for index, part in enumerate(parts):
        if index % 2:  # inside quotes
            if pending is None:
                stray.append(f'"{part}"')
            else:
                _put(fields, pending, part)
                pending = None
            continue
        words = part.split()
        if (index < last and words and not part[-1].isspace() and len(words[-1]) > 1
                and words[-1].find("=") == len(words[-1]) - 1):
            pending = words.pop()[:-1]  # key="...
        for word in words:
            key, eq, bare = word.partition("=")
            if not key:
                stray.append(word)
            elif key in fields:
                _put(fields, key, bare if eq else True)
            else:
                fields[key] = bare if eq else True
    return fields, stray


def _put(fields: dict[str, Any], key: str, value: Any) -> None:
    """Store a pair; a repeated key collects its values in a list."""
    if key not in fields:
        fields[key] = value
        return
    previous = fields[key]
    if isinstance(previous, list):
        previous.append(value)
    else:
        fields[key] = [previous, value]


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(0)), text)


class LogfmtParser:
    """``key=value`` lines; well-known keys fill the event, the rest go to ``attrs``."""

    name = "logfmt"

    def matches(self, text: str) -> bool:
        """Cheap check for auto-detection: the line starts with ``identifier=``."""
        return _START.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        if "=" not in text:
            raise ParseError(Reason.FORMAT_MISMATCH, "no key=value pair in the line",
                             parser=self.name)
        fields, stray = parse_pairs(text)
        values = iter(fields.values())
        # only flags (a first value that is not a flag settles it without the count)
        if not fields or (next(values) is True
                          and list(values).count(True) == len(fields) - 1):
            raise ParseError(Reason.FORMAT_MISMATCH, "no key=value pair in the line",
                             parser=self.name)
        role = self._map(fields)
        get = role.get
        http = None
        if not _HTTP_ROLES.isdisjoint(role):
            client_ip = get("client_ip")
            if client_ip is None and isinstance(fields.get("fwd"), str):
                client_ip = fields["fwd"].split(",")[0].strip() or None  # Heroku; fwd stays
            # positional, in HttpInfo's field order: keyword arguments cost twice as much
            http = HttpInfo(get("method"), get("path"), None, None, get("status"),
                            get("bytes"), get("duration"), client_ip)
        level = get("level")
        number = severity_number(level)
        if level is None and http is not None and http.status is not None:
            number = severity_from_http_status(http.status)
        for key in _NUMERIC_KEYS.intersection(fields):
            fields[key] = _number(fields[key])
        if stray:
            fields["_unparsed"] = " ".join(stray)
        # positional, in LogEvent's field order
        return LogEvent(
            ctx.event_id, get("ts", ctx.observed_ts), ctx.observed_ts,
            ctx.service or get("service") or ctx.source_name or "unknown",  # service
            get("message", text), number, level or severity_text(number),
            get("host"), get("env"), "kafka", ctx.source_name, get("logger"), http,
            None, get("trace_id"), get("span_id"), None, False,  # geo .. is_error
            {}, fields, self.name)  # service_meta, attrs, parser

    def _map(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Move the well-known keys out of ``fields``: role -> converted value."""
        found: dict[str, Any] = {}
        present = _MAPPED.intersection(fields)
        order = _ORDER.get(present)
        if order is None:  # lines of a source share their keys: sort each set once
            if len(_ORDER) >= _ORDER_MAX:
                _ORDER.clear()
            order = _ORDER[present] = tuple(
                (key, _ROLES[key], _ROLES[key] not in _CONVERTED and key != "service")
                for key in sorted(present, key=_RANK.__getitem__))
        for key, role, plain in order:
            raw = fields[key]
            if raw.__class__ is not str:  # True (a flag) or a list (a repeated key)
                if raw.__class__ is not list or raw[-1].__class__ is not str:
                    continue
                raw = raw[-1]  # the last value counts
            if role in found:
                continue
            if plain:  # plain text: the common case
                if raw:
                    found[role] = raw
                    del fields[key]
                continue
            value: Any = None
            if role == "ts":
                value = self._timestamp(key, raw)
            elif role == "level":
                value = raw if key != "at" or severity_number(raw) else None
            elif role == "duration":
                value = _duration(key, raw)
            elif role == "status":
                value = int(raw) if len(raw) == 3 and raw.isascii() and raw.isdigit() else None
            elif role == "bytes":
                value = int(raw) if len(raw) < 19 and raw.isascii() and raw.isdigit() else None
            elif raw[:1] in _DURATION_START and _DURATION.fullmatch(raw):
                # service=8ms: Heroku's request duration
                duration = _duration(key, raw)
                if duration is not None and "duration" not in found:
                    found["duration"] = duration
                    del fields[key]
                continue
            else:
                value = raw or None
            if value is not None:
                found[role] = value
                del fields[key]
        return found

    def _timestamp(self, key: str, raw: str) -> float | None:
        """Epoch of an ISO 8601 or epoch value; None if it is no timestamp (``time=12ms``)."""
        try:
            if raw[:4].isascii() and raw[:4].isdigit() and raw[4:5] == "-":
                epoch = epoch_from_iso_utc(raw)  # the usual shape, from a cache
                if epoch is None:
                    epoch = _iso_or_go(raw)
            elif raw.isascii() and raw.replace(".", "", 1).isdigit() and float(raw) >= 1e9:
                epoch = epoch_from_number(float(raw))  # s, ms, µs or ns by magnitude
            else:
                return None  # t=5 is no epoch (before 2001)
        except ValueError:
            raise ParseError(Reason.BAD_FIELD, f"{key}: unreadable timestamp {raw[:64]!r}",
                             parser=self.name) from None
        if not in_epoch_range(epoch):
            raise ParseError(Reason.BAD_FIELD, f"{key}: timestamp {raw[:64]!r} out of range",
                             parser=self.name)
        return epoch


def _duration(key: str, raw: str) -> float | None:
    """Milliseconds of a duration value: units required, except for ``*_ms`` keys."""
    try:
        if key in _MS_KEYS:
            value = float(raw)
            return value if math.isfinite(value) and "_" not in raw else None
        return parse_duration_ms(raw)
    except ValueError:
        return None


def _iso_or_go(raw: str) -> float:
    try:
        return epoch_from_iso(raw)
    except ValueError:
        go = _GO_TIME.fullmatch(raw)  # Go's time.Time.String(): "... +0000 UTC"
        if go is None:
            raise
        return epoch_from_iso(f"{go.group(1)}{go.group(2)}:{go.group(3)}")


def _number(value: Any) -> Any:
    """An int or float for numeric text (known numeric keys); anything else unchanged."""
    if not isinstance(value, str) or not value or len(value) > 30 or not value.isascii():
        return value
    if value.isdigit() or (value[0] == "-" and value[1:].isdigit()):
        return int(value)
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) and "_" not in value else value
