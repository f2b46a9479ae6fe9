"""The canonical document of an event: what ``logs.events`` carries and Elasticsearch indexes.

One definition of its shape, as ``msgspec`` structs: fields are written in this order,
and a field left at its default (None, or an empty ``service_meta``/``attrs``) is left
out. The parse agent encodes these structs straight to JSON (``encode_docs``); every
other caller takes the same document as a dict (``LogEvent.to_doc``, ``as_dict``).
Building a struct and encoding it costs a fraction of building the nested dicts and
encoding those (bench/RESULTS.md, pipeline section).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from app.core.events import iso_utc

if TYPE_CHECKING:
    from app.core.events import HttpInfo, LogEvent


class DocSource(msgspec.Struct, gc=False):
    type: str
    name: str | None


class DocParse(msgspec.Struct, gc=False):
    parser: str
    ok: bool


class DocUserAgent(msgspec.Struct, omit_defaults=True, gc=False):
    family: str | None = None
    os: str | None = None
    device: str | None = None


class DocGeo(msgspec.Struct, omit_defaults=True, gc=False):
    country: str | None = None
    city: str | None = None


class DocHttp(msgspec.Struct, omit_defaults=True, gc=False):
    method: str | None = None
    path: str | None = None
    route: str | None = None
    protocol: str | None = None
    status: int | None = None
    bytes: int | None = None
    duration_ms: float | None = None
    client_ip: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    status_class: str | None = None
    ua: DocUserAgent | None = None


class EventDoc(msgspec.Struct, omit_defaults=True, gc=False):
    event_id: str
    ts: str  # ISO 8601 UTC, milliseconds
    observed_ts: str
    service: str
    severity_number: int
    severity_text: str
    message: str
    is_error: bool
    source: DocSource
    parse: DocParse
    host: str | None = None
    env: str | None = None
    logger: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    template_id: str | None = None
    http: DocHttp | None = None
    geo: DocGeo | None = None
    service_meta: dict[str, str] = {}
    attrs: dict[str, Any] = {}
    pos: list[int] | None = None  # where in logs.raw: partition, offset, index


_STATUS_CLASS = tuple(f"{status // 100}xx" for status in range(1000))


def http_doc(http: HttpInfo) -> DocHttp:
    status = http.status
    ua = http.ua
    return DocHttp(
        http.method, http.path, http.route, http.protocol, status, http.bytes,
        http.duration_ms, http.client_ip, http.referrer, http.user_agent,
        None if status is None else (
            _STATUS_CLASS[status] if type(status) is int and 0 <= status < 1000
            else f"{status // 100}xx"),
        None if ua is None else DocUserAgent(ua.family, ua.os, ua.device))


def event_doc(event: LogEvent, pos: list[int] | None = None) -> EventDoc:
    """``event``'s document; ``pos`` is its place in ``logs.raw`` (see windows.book)."""
    http, geo = event.http, event.geo
    return EventDoc(
        event.event_id, iso_utc(event.ts), iso_utc(event.observed_ts), event.service,
        event.severity_number, event.severity_text, event.message, event.is_error,
        DocSource(event.source_type, event.source_name), DocParse(event.parser, event.parsed),
        event.host, event.env, event.logger, event.trace_id, event.span_id,
        event.template_id, None if http is None else http_doc(http),
        None if geo is None else DocGeo(geo.country, geo.city),
        event.service_meta, event.attrs, pos)


def as_dict(doc: msgspec.Struct) -> dict[str, Any]:
    """``doc`` (an ``EventDoc`` or a part of one) as the dict its JSON decodes to."""
    out: dict[str, Any] = msgspec.to_builtins(doc)
    return out


_ENCODER = msgspec.json.Encoder()
encode_docs = _ENCODER.encode  # a document, or a list of them (or dicts), as JSON bytes

