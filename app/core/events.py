"""The canonical event every parser produces and every sink consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(slots=True)
class HttpInfo:
    """The HTTP part of an access-log event."""

    method: str | None = None
    path: str | None = None
    protocol: str | None = None
    status: int | None = None
    bytes: int | None = None
    duration_ms: float | None = None
    client_ip: str | None = None
    referrer: str | None = None
    user_agent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k in self.__slots__ if (v := getattr(self, k)) is not None}


@dataclass(slots=True)
class LogEvent:
    """One log record in canonical form (field names close to ECS/OpenTelemetry).

    ``ts`` and ``observed_ts`` are epoch seconds (UTC); ``to_doc`` renders them as
    ISO 8601 with millisecond precision.
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
    http: HttpInfo | None = None
    trace_id: str | None = None
    span_id: str | None = None
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
            "source": {"type": self.source_type, "name": self.source_name},
            "parse": {"parser": self.parser, "ok": self.parsed},
        }
        for key in ("host", "env", "trace_id", "span_id"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        if self.http is not None:
            doc["http"] = self.http.to_dict()
        if self.attrs:
            doc["attrs"] = self.attrs
        return doc


def iso_utc(epoch_seconds: float) -> str:
    """Render epoch seconds as ``2026-11-22T04:36:38.123Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
