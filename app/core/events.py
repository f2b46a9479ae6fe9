"""The canonical event every parser produces, enrichers complete and sinks consume.

Field names follow ECS/OpenTelemetry where they exist (DESIGN.md §3). Parsers fill what
the line says; enrichers (``app.core.enrichment``) add what can be derived from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
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
        out: dict[str, Any] = {}
        for key in ("method", "path", "route", "protocol", "status", "bytes", "duration_ms",
                    "client_ip", "referrer", "user_agent"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.status is not None:
            out["status_class"] = f"{self.status // 100}xx"
        if self.ua is not None:
            out["ua"] = {k: v for k in ("family", "os", "device")
                         if (v := getattr(self.ua, k)) is not None}
        return out


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
        for key in ("host", "env", "logger", "trace_id", "span_id", "template_id"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        if self.http is not None:
            doc["http"] = self.http.to_dict()
        if self.geo is not None:
            doc["geo"] = {k: v for k in ("country", "city")
                          if (v := getattr(self.geo, k)) is not None}
        if self.service_meta:
            doc["service_meta"] = self.service_meta
        if self.attrs:
            doc["attrs"] = self.attrs
        return doc


def iso_utc(epoch_seconds: float) -> str:
    """Render epoch seconds as ``2026-11-22T04:36:38.123Z`` (milliseconds, truncated)."""
    second, ms = divmod(math.floor(epoch_seconds * 1000), 1000)
    return f"{_iso_second(second)}.{ms:03d}Z"


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    # logs arrive roughly in time order, so a cache of whole seconds hits almost always
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
