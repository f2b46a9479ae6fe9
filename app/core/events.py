"""The canonical event every parser produces, enrichers complete and sinks consume.

Field names follow ECS/OpenTelemetry where they exist (DESIGN.md §3). Parsers fill what
the line says; enrichers (``app.core.enrichment``) add what can be derived from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(slots=True)
class UserAgentInfo:
    family: str | None = None
    os: str | None = None
    device: str | None = None


@dataclass(slots=True)
class GeoInfo:
    country: str | None = None  # ISO 3166-1 alpha-2
    city: str | None = None


@dataclass(slots=True)
class HttpInfo:
    """The HTTP part of an access-log or request-log event."""

    method: str | None = None
    path: str | None = None
    route: str | None = None  # templated path: /users/{id}/orders/{id}
    protocol: str | None = None
    status: int | None = None
    bytes: int | None = None
    duration_ms: float | None = None
    client_ip: str | None = None
    referrer: str | None = None
    user_agent: str | None = None  # the original header text
    ua: UserAgentInfo | None = None  # parsed by the user-agent enricher

    def to_dict(self) -> dict[str, Any]:
        # unrolled (no getattr loop): this runs for every access-log event
        out: dict[str, Any] = {}
        if self.method is not None:
            out["method"] = self.method
        if self.path is not None:
            out["path"] = self.path
        if self.route is not None:
            out["route"] = self.route
        if self.protocol is not None:
            out["protocol"] = self.protocol
        status = self.status
        if status is not None:
            out["status"] = status
        if self.bytes is not None:
            out["bytes"] = self.bytes
        if self.duration_ms is not None:
            out["duration_ms"] = self.duration_ms
        if self.client_ip is not None:
            out["client_ip"] = self.client_ip
        if self.referrer is not None:
            out["referrer"] = self.referrer
        if self.user_agent is not None:
            out["user_agent"] = self.user_agent
        if status is not None:
            out["status_class"] = (_STATUS_CLASS[status] if type(status) is int
                                   and 0 <= status < 1000 else f"{status // 100}xx")
        ua = self.ua
        if ua is not None:
            parts: dict[str, Any] = {}
            if ua.family is not None:
                parts["family"] = ua.family
            if ua.os is not None:
                parts["os"] = ua.os
            if ua.device is not None:
                parts["device"] = ua.device
            out["ua"] = parts
        return out


_STATUS_CLASS = tuple(f"{status // 100}xx" for status in range(1000))


@dataclass(slots=True)
class LogEvent:
    """One log record in canonical form.

    ``ts`` and ``observed_ts`` are epoch seconds (UTC); ``to_doc`` renders them as
    ISO 8601 with millisecond precision. ``attrs`` holds every other field, including
    fields extracted from the message (``user``, ``source_ip``...), so rules can group
    by them.
    """

    event_id: str
    ts: float
    observed_ts: float
    service: str
    message: str
    severity_number: int = 0
    severity_text: str = ""
    host: str | None = None
    env: str | None = None
    source_type: str = "kafka"
    source_name: str | None = None
    logger: str | None = None
    http: HttpInfo | None = None
    geo: GeoInfo | None = None
    trace_id: str | None = None
    span_id: str | None = None
    template_id: str | None = None
    is_error: bool = False
    service_meta: dict[str, str] = field(default_factory=dict)  # team, owner, tier...
    attrs: dict[str, Any] = field(default_factory=dict)
    parser: str = "unknown"
    parsed: bool = True

    def to_doc(self) -> dict[str, Any]:
        """The JSON document written to ``logs.events`` and indexed into Elasticsearch."""
        doc: dict[str, Any] = {
            "event_id": self.event_id,
            "ts": iso_utc(self.ts),
            "observed_ts": iso_utc(self.observed_ts),
            "service": self.service,
            "severity_number": self.severity_number,
            "severity_text": self.severity_text,
            "message": self.message,
            "is_error": self.is_error,
            "source": {"type": self.source_type, "name": self.source_name},
            "parse": {"parser": self.parser, "ok": self.parsed},
        }
        # unrolled (no getattr loop): this runs for every event
        if self.host is not None:
            doc["host"] = self.host
        if self.env is not None:
            doc["env"] = self.env
        if self.logger is not None:
            doc["logger"] = self.logger
        if self.trace_id is not None:
            doc["trace_id"] = self.trace_id
        if self.span_id is not None:
            doc["span_id"] = self.span_id
        if self.template_id is not None:
            doc["template_id"] = self.template_id
        if self.http is not None:
            doc["http"] = self.http.to_dict()
        geo = self.geo
        if geo is not None:
            place: dict[str, Any] = {}
            if geo.country is not None:
                place["country"] = geo.country
            if geo.city is not None:
                place["city"] = geo.city
            doc["geo"] = place
        if self.service_meta:
            doc["service_meta"] = self.service_meta
        if self.attrs:
            doc["attrs"] = self.attrs
        return doc


def iso_utc(epoch_seconds: float) -> str:
    """Render epoch seconds as ``2026-11-22T04:36:38.123Z`` (milliseconds, truncated)."""
    global _last  # one tuple, replaced whole: threads see a matching pair
    last = _last
    if epoch_seconds == last[0]:  # the events of a record share their observed_ts
        return last[1]
    second, ms = divmod(math.floor(epoch_seconds * 1000), 1000)
    # logs arrive roughly in time order, so a cache of whole seconds hits almost always
    text = _SECONDS.get(second)
    if text is None:
        text = _iso_second(second)
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        _SECONDS[second] = text
    text += _MILLIS[ms]
    _last = (epoch_seconds, text)
    return text


_last: tuple[float, str] = (math.nan, "")  # the last value rendered (nan equals nothing)
_SECONDS: dict[int, str] = {}
_SECONDS_MAX = 4096
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
