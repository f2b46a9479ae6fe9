"""JSON lines in the shapes users send: ECS (dotted and nested), OpenTelemetry, ad hoc."""

from __future__ import annotations

import pytest

from app.core.errors import ParseError, Reason
from app.core.parsing import RecordContext
from app.core.parsing.json_lines import JsonLinesParser
from app.core.timeparse import epoch_from_iso

CTX = RecordContext(event_id="e1", observed_ts=1_795_000_000.0, service=None,
                    source_name="src", max_json_depth=16)
P = JsonLinesParser()


def test_ecs_nested() -> None:
    line = ('{"@timestamp":"2026-11-22T04:00:00.123Z","log":{"level":"warn","logger":"app.db"},'
            '"message":"slow","service":{"name":"orders","environment":"prod"},'
            '"host":{"name":"orders-7"},"trace":{"id":"abc"},"span":{"id":"def"},'
            '"http":{"request":{"method":"GET"},"response":{"status_code":200,'
            '"body":{"bytes":42}}},"url":{"path":"/o/1","domain":"x"},'
            '"event":{"duration":1500000,"dataset":"orders.log"},"client":{"ip":"10.1.2.3"},'
            '"user_agent":{"original":"curl/8"},"error":{"type":"Timeout","message":"t/o"}}')
    event = P.parse(line, CTX)
    assert event.ts == epoch_from_iso("2026-11-22T04:00:00.123Z")
    assert (event.severity_number, event.severity_text) == (13, "warn")
    assert (event.service, event.env, event.host, event.logger) == (
        "orders", "prod", "orders-7", "app.db")
    assert (event.trace_id, event.span_id) == ("abc", "def")
    assert event.http is not None
    assert (event.http.method, event.http.path, event.http.status, event.http.bytes) == (
        "GET", "/o/1", 200, 42)
    assert event.http.duration_ms == 1.5  # ECS event.duration is nanoseconds
    assert (event.http.client_ip, event.http.user_agent) == ("10.1.2.3", "curl/8")
    assert event.attrs == {"url": {"domain": "x"}, "event": {"dataset": "orders.log"},
                           "error": {"type": "Timeout", "message": "t/o"}}


def test_ecs_dotted_keys() -> None:
    line = ('{"@timestamp":"2026-11-22T04:00:00Z","log.level":"ERROR","service.name":"pay",'
            '"http.response.status_code":502,"url.path":"/pay","message":"bad gateway"}')
    event = P.parse(line, CTX)
    assert (event.service, event.severity_number) == ("pay", 17)
    assert event.http is not None and (event.http.status, event.http.path) == (502, "/pay")
    assert event.attrs == {}


def test_opentelemetry_log_record() -> None:
    line = ('{"Timestamp":"1795000000123456789","ObservedTimestamp":"1795000000200000000",'
            '"TraceId":"5b8efff798038103d269b633813fc60c","SpanId":"eee19b7ec3c1b174",'
            '"SeverityText":"Information","SeverityNumber":9,"Body":"user logged in",'
            '"Resource":{"service.name":"auth"},"InstrumentationScope":{"name":"auth.login"},'
            '"Attributes":{"user.id":"u-1","http.status_code":200}}')
    event = P.parse(line, CTX)
    assert event.ts == pytest.approx(1_795_000_000.123456789)
    assert (event.severity_number, event.severity_text) == (9, "Information")
    assert (event.service, event.logger, event.message) == ("auth", "auth.login",
                                                           "user logged in")
    assert event.trace_id == "5b8efff798038103d269b633813fc60c"
    assert event.attrs["user.id"] == "u-1"
    assert "Resource" not in event.attrs


@pytest.mark.parametrize(("line", "field", "value"), [
    ('{"time": 1795000000, "lvl": "debug", "msg": "x"}', "severity_number", 5),
    ('{"timestamp": "1795000000000", "level": "INFO"}', "ts", 1_795_000_000.0),
    ('{"ts": "2026-11-22 04:00:00", "msg": "naive is UTC"}', "ts",
     epoch_from_iso("2026-11-22T04:00:00Z")),
    ('{"level": 40, "msg": "numeric level text"}', "severity_text", "40"),
    ('{"message": {"nested": true}}', "message", '{"nested":true}'),
    ('{"status": "404", "path": "/x"}', "message", "- /x 404"),
])
def test_ad_hoc_keys(line: str, field: str, value: object) -> None:
    assert getattr(P.parse(line, CTX), field) == value


def test_producer_supplied_event_id_wins() -> None:
    assert P.parse('{"event_id": "abc-1", "msg": "x"}', CTX).event_id == "abc-1"
    assert P.parse('{"msg": "x"}', CTX).event_id == "e1"


@pytest.mark.parametrize(("line", "reason"), [
    ("{", Reason.MALFORMED_JSON),
    ('"just a string"', Reason.NOT_AN_OBJECT),
    ('{"a":' * 17 + "1" + "}" * 17, Reason.JSON_TOO_DEEP),
    ('{"http": {"status": 9999}}', Reason.BAD_FIELD),
    ('{"latency_ms": "fast"}', Reason.BAD_FIELD),
    ('{"level": ["error"]}', Reason.BAD_FIELD),
    ('{"service": [1]}', Reason.BAD_FIELD),
    ('{"n": 12.5e400}', Reason.MALFORMED_JSON),
])
def test_failures(line: str, reason: Reason) -> None:
    with pytest.raises(ParseError) as info:
        P.parse(line, CTX)
    assert info.value.reason is reason


def test_deep_but_allowed_nesting_passes_the_bracket_prefilter() -> None:
    wide = '{"a": [' + ",".join("{}" for _ in range(50)) + '], "msg": "x"}'
    assert P.parse(wide, CTX).attrs["a"] == [{}] * 50
