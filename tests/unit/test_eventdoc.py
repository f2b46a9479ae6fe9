"""The canonical document (``app.core.eventdoc``): its exact shape, as dict and as JSON.

``reference_doc`` spells the shape out field by field (it is how ``LogEvent.to_doc``
built the document before the structs): the structs must give the same dict, and
their JSON must decode to it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from app.core.eventdoc import DocGeo, DocHttp, DocUserAgent, as_dict, encode_docs, event_doc
from app.core.events import GeoInfo, HttpInfo, LogEvent, UserAgentInfo, iso_utc


def reference_doc(e: LogEvent, pos: list[int] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": e.event_id, "ts": iso_utc(e.ts), "observed_ts": iso_utc(e.observed_ts),
        "service": e.service, "severity_number": e.severity_number,
        "severity_text": e.severity_text, "message": e.message, "is_error": e.is_error,
        "source": {"type": e.source_type, "name": e.source_name},
        "parse": {"parser": e.parser, "ok": e.parsed},
    }
    for name in ("host", "env", "logger", "trace_id", "span_id", "template_id"):
        if getattr(e, name) is not None:
            doc[name] = getattr(e, name)
    if e.http is not None:
        http = {k: getattr(e.http, k) for k in (
            "method", "path", "route", "protocol", "status", "bytes", "duration_ms",
            "client_ip", "referrer", "user_agent") if getattr(e.http, k) is not None}
        if e.http.status is not None:
            http["status_class"] = f"{e.http.status // 100}xx"
        if e.http.ua is not None:
            http["ua"] = {k: getattr(e.http.ua, k) for k in ("family", "os", "device")
                          if getattr(e.http.ua, k) is not None}
        doc["http"] = http
    if e.geo is not None:
        doc["geo"] = {k: getattr(e.geo, k) for k in ("country", "city")
                      if getattr(e.geo, k) is not None}
    if e.service_meta:
        doc["service_meta"] = e.service_meta
    if e.attrs:
        doc["attrs"] = e.attrs
    if pos is not None:
        doc["pos"] = pos
    return doc


def full_event() -> LogEvent:
    return LogEvent(
        event_id="0" * 32, ts=1796000000.5, observed_ts=1796000001.25, service="web",
        message='GET /a "quoted" é', severity_number=17, severity_text="ERROR", host="h1",
        env="prod", source_type="http", source_name="web-1", logger="app.web",
        http=HttpInfo(method="GET", path="/users/7", route="/users/{id}", protocol="HTTP/1.1",
                      status=503, bytes=12, duration_ms=1.5, client_ip="2001:db8::1",
                      referrer="-", user_agent="curl/8", ua=UserAgentInfo("curl", None, None)),
        geo=GeoInfo(country="DE"), trace_id="t" * 32, span_id="s" * 16, template_id="abc",
        is_error=True, service_meta={"team": "core"}, attrs={"user": "bob", "n": 3},
        parser="http_access", parsed=True)


def test_a_full_event_field_by_field_and_in_order() -> None:
    doc = as_dict(event_doc(full_event(), [1, 2, 3]))
    assert list(doc) == ["event_id", "ts", "observed_ts", "service", "severity_number",
                         "severity_text", "message", "is_error", "source", "parse", "host",
                         "env", "logger", "trace_id", "span_id", "template_id", "http", "geo",
                         "service_meta", "attrs", "pos"]
    assert doc["ts"] == "2026-11-30T00:53:20.500Z"
    assert doc["http"] == {"method": "GET", "path": "/users/7", "route": "/users/{id}",
                           "protocol": "HTTP/1.1", "status": 503, "bytes": 12,
                           "duration_ms": 1.5, "client_ip": "2001:db8::1", "referrer": "-",
                           "user_agent": "curl/8", "status_class": "5xx",
                           "ua": {"family": "curl"}}
    assert doc == reference_doc(full_event(), [1, 2, 3])
    # the same bytes orjson writes for the dict, which is what logs.events carried before
    assert encode_docs(event_doc(full_event(), [1, 2, 3])) == orjson.dumps(doc)
    assert full_event().to_doc() == reference_doc(full_event())


def test_a_bare_event_has_only_the_fixed_fields() -> None:
    event = LogEvent(event_id="x", ts=0.0, observed_ts=0.0, service="s", message="m")
    assert as_dict(event_doc(event)) == {
        "event_id": "x", "ts": "1970-01-01T00:00:00.000Z",
        "observed_ts": "1970-01-01T00:00:00.000Z", "service": "s", "severity_number": 0,
        "severity_text": "", "message": "m", "is_error": False,
        "source": {"type": "kafka", "name": None}, "parse": {"parser": "unknown", "ok": True}}
    event.http, event.geo = HttpInfo(ua=UserAgentInfo()), GeoInfo()
    assert as_dict(event_doc(event))["http"] == {"ua": {}}
    assert as_dict(event_doc(event))["geo"] == {}


texts = st.text(max_size=12)
maybe = st.none() | texts
scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | texts | st.floats(
    allow_nan=False, allow_infinity=False)


@st.composite
def events(draw: st.DrawFn) -> LogEvent:
    http = draw(st.none() | st.builds(
        HttpInfo, method=maybe, path=maybe, route=maybe, protocol=maybe,
        status=st.none() | st.integers(-5, 1200), bytes=st.none() | st.integers(0, 2**40),
        duration_ms=st.none() | st.floats(0, 1e6), client_ip=maybe, referrer=maybe,
        user_agent=maybe, ua=st.none() | st.builds(UserAgentInfo, maybe, maybe, maybe)))
    return LogEvent(
        event_id=draw(texts), ts=draw(st.floats(0, 4e9)), observed_ts=draw(st.floats(0, 4e9)),
        service=draw(texts), message=draw(st.text(max_size=40)),
        severity_number=draw(st.integers(0, 24)), severity_text=draw(texts), host=draw(maybe),
        env=draw(maybe), source_type=draw(texts), source_name=draw(maybe), logger=draw(maybe),
        http=http, geo=draw(st.none() | st.builds(GeoInfo, maybe, maybe)),
        trace_id=draw(maybe), span_id=draw(maybe), template_id=draw(maybe),
        is_error=draw(st.booleans()),
        service_meta=draw(st.dictionaries(texts, texts, max_size=3)),
        attrs=draw(st.dictionaries(texts, scalars, max_size=4)), parser=draw(texts),
        parsed=draw(st.booleans()))


@given(events(), st.none() | st.lists(st.integers(0, 2**40), min_size=3, max_size=3))
def test_any_event_matches_the_reference_as_dict_and_as_json(event: LogEvent,
                                                               pos: list[int] | None) -> None:
    doc = event_doc(event, pos)
    expected = reference_doc(event, pos)
    assert as_dict(doc) == expected
    assert orjson.loads(encode_docs(doc)) == orjson.loads(orjson.dumps(expected))
    assert orjson.loads(encode_docs([doc, doc])) == [orjson.loads(orjson.dumps(expected))] * 2


def test_the_document_structs_mirror_the_event_classes() -> None:
    # a field added to HttpInfo/UserAgentInfo/GeoInfo must be added to its Doc struct too
    def names(cls: type) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    assert DocHttp.__struct_fields__ == (*names(HttpInfo)[:-1], "status_class", "ua")
    assert DocUserAgent.__struct_fields__ == names(UserAgentInfo)
    assert DocGeo.__struct_fields__ == names(GeoInfo)
