"""User-defined line formats: a regex with named groups plus a timestamp format.

The timestamp format is compiled once by ``app.core.timeformat.TimeFormat``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import severity_from_http_status, severity_number, severity_text
from app.core.timeformat import TimeFormat, resolve_tz

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
