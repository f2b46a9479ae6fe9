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
        """The ``http`` part of the event's document (``app.core.eventdoc``)."""
        from app.core.eventdoc import as_dict, http_doc  # eventdoc imports this module

        return as_dict(http_doc(self))


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
        """The JSON document written to ``logs.events`` and indexed into Elasticsearch,
        as a dict (its shape: ``app.core.eventdoc``)."""
        from app.core.eventdoc import as_dict, event_doc  # eventdoc imports this module

        return as_dict(event_doc(self))


def iso_utc(epoch_seconds: float) -> str:
    """Render epoch seconds as ``2026-11-22T04:36:38.123Z`` (milliseconds, truncated)."""
    global _last  # one tuple, replaced whole: threads see matching pairs
    last = _last
    if epoch_seconds == last[0]:
        return last[1]
    if epoch_seconds == last[2]:  # a document renders ts, then observed_ts: both stay
        _last = (epoch_seconds, last[3], last[0], last[1])
        return last[3]
    second, ms = divmod(math.floor(epoch_seconds * 1000), 1000)
    # logs arrive roughly in time order, so a cache of whole seconds hits almost always
    text = _SECONDS.get(second)
    if text is None:
        text = _iso_second(second)
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        _SECONDS[second] = text
    text += _MILLIS[ms]
    _last = (epoch_seconds, text, last[0], last[1])
    return text


#: the last two values rendered, newest first: (value, text, value, text); nan equals
#: nothing
_last: tuple[float, str, float, str] = (math.nan, "", math.nan, "")
_SECONDS: dict[int, str] = {}
_SECONDS_MAX = 4096
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def _iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
