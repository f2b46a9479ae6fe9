"""Nginx error log (FORMATS.md §2)::

    2026/11/22 04:00:00 [error] 1234#5678: *42 connect() failed (111: Connection refused)
        while connecting to upstream, client: 10.0.0.1, server: example.com,
        request: "GET /api HTTP/1.1", upstream: "http://127.0.0.1:8080/api",
        host: "example.com"

(one line). ``PID#TID`` and the ``*CID`` connection number go to ``attrs``; the
trailing ``, client: ..., key: value`` list is parsed when it is well-formed
(``client`` to ``http.client_ip``, ``request`` to method/path/protocol, ``referrer``
to ``http.referrer``, every other key, e.g. ``server``, ``upstream``, ``host``, to
``attrs``). The time has no zone: the instance's ``tz`` applies.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import DEBUG, ERROR, FATAL, INFO, WARN
from app.core.timeformat import CACHE_MAX, resolve_tz, wall_epoch

_HEAD = re.compile(
    r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[([a-z]+)\] (\d{1,18})#(\d{1,18}): "
    r"(?:\*(\d{1,18}) )?(.*)", re.S)
_PAIR = re.compile(r', ([a-z][a-z_/ ]{0,30}): ?(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^,"]*))')
_LEVELS = {"debug": DEBUG, "info": INFO, "notice": INFO + 1, "warn": WARN, "error": ERROR,
           "crit": FATAL, "alert": FATAL + 1, "emerg": FATAL + 2}
_CLIENT = ", client: "


class NginxErrorParser:
    """Nginx ``error_log`` lines."""

    name = "nginx_error"

    def __init__(self, tz: str | tzinfo = "UTC") -> None:
        self._tz = resolve_tz(tz)
        self._seconds: dict[str, float] = {}

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection."""
        return _HEAD.match(text) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        head = _HEAD.match(text)
        if head is None:
            raise ParseError(Reason.FORMAT_MISMATCH, "line is not an nginx error-log line",
                             parser=self.name)
        when, level, pid, tid, connection, body = head.groups()
        number = _LEVELS.get(level)
        if number is None:
            raise ParseError(Reason.BAD_FIELD, f"unknown nginx log level {level!r}",
                             parser=self.name)
        ts = self._epoch(when)
        attrs: dict[str, object] = {"pid": int(pid), "tid": int(tid)}
        if connection is not None:
            attrs["connection_id"] = int(connection)
        message, pairs = _split_context(body)
        http = None
        if pairs:
            request = pairs.pop("request", None)
            method, path, protocol = _split_request(request) if request else (None, None, None)
            http = HttpInfo(method=method, path=path, protocol=protocol,
                            client_ip=pairs.pop("client", None) or None,
                            referrer=pairs.pop("referrer", None) or None)
            if request and method is None:
                attrs["request"] = request
            attrs.update(pairs)
        return LogEvent(
            event_id=ctx.event_id, ts=ts, observed_ts=ctx.observed_ts,
            service=ctx.service or ctx.source_name or "unknown", message=message,
            severity_number=number, severity_text=level, source_name=ctx.source_name,
            http=http, attrs=attrs, parser=self.name,
        )

    def _epoch(self, when: str) -> float:
        epoch = self._seconds.get(when)
        if epoch is None:
            try:
                epoch = wall_epoch(int(when[0:4]), int(when[5:7]), int(when[8:10]),
                                   int(when[11:13]), int(when[14:16]), int(when[17:19]),
                                   self._tz)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, f"time {when!r}: {exc}",
                                 parser=self.name) from None
            if len(self._seconds) >= CACHE_MAX:
                self._seconds.clear()
            self._seconds[when] = epoch
        return epoch


def _split_context(body: str) -> tuple[str, dict[str, str]]:
    """Message and the trailing ``, client: ...`` pairs (empty if there are none)."""
    start = body.find(_CLIENT)
    for _ in range(4):  # a few candidates only: crafted lines must not cost O(n^2)
        if start < 0:
            break
        pairs: dict[str, str] = {}
        pos = start
        while pos < len(body):
            pair = _PAIR.match(body, pos)
            if pair is None:
                break
            key, quoted, bare = pair.groups()
            pairs[key.replace(" ", "_").replace("/", "_")] = (
                bare.strip() if quoted is None else quoted)
            pos = pair.end()
        if pos == len(body):
            return body[:start], pairs
        start = body.find(_CLIENT, start + 1)  # ", client: " inside the message itself
    return body, {}


def _split_request(request: str) -> tuple[str | None, str | None, str | None]:
    parts = request.split(" ")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1], None
    return None, None, None
