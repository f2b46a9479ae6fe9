"""JSON lines: ECS, the OpenTelemetry log data model, and common ad hoc keys.

Keys are looked up flat (``"log.level"``) and nested (``{"log": {"level": ...}}``), as
ECS allows both. What a line says beyond the canonical fields is kept in ``attrs``.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import severity_number, severity_text
from app.core.timeparse import epoch_from_iso, epoch_from_number

# Aliases, first match wins. OTel names are capitalised; ECS names are dotted.
TS = ("@timestamp", "timestamp", "ts", "time", "Timestamp", "date")
OBSERVED_TS = ("ObservedTimestamp",)
LEVEL = ("log.level", "level", "lvl", "severity", "levelname", "SeverityText", "severity_text")
SEVERITY_NUMBER = ("SeverityNumber", "severity_number")
MESSAGE = ("message", "msg", "Body", "body", "log")
SERVICE = ("service.name", "service", "Resource.service.name", "app", "application")
ENV = ("service.environment", "env", "environment", "Resource.deployment.environment")
HOST = ("host.name", "hostname", "host", "Resource.host.name")
LOGGER = ("log.logger", "logger", "logger_name", "name", "InstrumentationScope.name")
TRACE_ID = ("trace.id", "trace_id", "TraceId", "traceId")
SPAN_ID = ("span.id", "span_id", "SpanId", "spanId")
METHOD = ("http.request.method", "http.method", "method")
PATH = ("url.path", "http.path", "http.url", "path", "url")
STATUS = ("http.response.status_code", "http.status", "http.status_code", "status",
          "status_code")
BYTES = ("http.response.body.bytes", "http.bytes", "bytes", "response_bytes")
LATENCY_MS = ("http.latency_ms", "http.duration_ms", "latency_ms", "duration_ms",
              "response_time_ms", "elapsed_ms")
DURATION_NS = ("event.duration",)
CLIENT_IP = ("client.ip", "http.client_ip", "client_ip", "remote_addr", "source.ip")
USER_AGENT = ("user_agent.original", "http.user_agent", "user_agent", "http_user_agent")
ERROR_TYPE = ("error.type",)
ERROR_MESSAGE = ("error.message",)
ERROR_STACK = ("error.stack_trace",)

_FIELDS: dict[str, tuple[str, ...]] = {
    "ts": TS, "observed_ts": OBSERVED_TS, "level": LEVEL, "severity_number": SEVERITY_NUMBER,
    "message": MESSAGE, "service": SERVICE, "env": ENV, "host": HOST, "logger": LOGGER,
    "trace_id": TRACE_ID, "span_id": SPAN_ID, "method": METHOD, "path": PATH,
    "status": STATUS, "bytes": BYTES, "latency_ms": LATENCY_MS, "duration_ns": DURATION_NS,
    "client_ip": CLIENT_IP, "user_agent": USER_AGENT, "error_type": ERROR_TYPE,
    "error_message": ERROR_MESSAGE, "error_stack": ERROR_STACK,
}
#: alias path -> (field, rank): a lower rank wins when a line has several aliases
_RANK: dict[str, tuple[str, int]] = {
    alias: (name, rank) for name, aliases in _FIELDS.items() for rank, alias in enumerate(aliases)
}
#: dotted prefixes worth descending into (``http``, ``http.response``, ``Resource``...)
_CONTAINERS = frozenset(
    alias.rsplit(".", n)[0] for alias in _RANK for n in range(1, alias.count(".") + 1))

Found = dict[str, tuple[int, str, Any]]  # field -> (rank, path, value)
_HTTP_FIELDS = frozenset({"status", "method", "path", "latency_ms", "duration_ns"})


class JsonLinesParser:
    """Parses one JSON object per record."""

    name = "json"

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ParseError(Reason.MALFORMED_JSON, str(exc), parser=self.name) from exc
        if not isinstance(obj, dict):
            raise ParseError(Reason.NOT_AN_OBJECT,
                             f"top-level JSON value is {type(obj).__name__}, not an object",
                             parser=self.name)
        # counting brackets (in C) bounds the depth; walk only when it could be too deep
        limit = ctx.max_json_depth
        if text.count("{") + text.count("[") > limit and _depth(obj, limit) > limit:
            raise ParseError(Reason.JSON_TOO_DEEP, f"nesting deeper than {limit}",
                             parser=self.name)
        return _Mapper(obj, self.name).event(ctx)


class _Mapper:
    """One object's mapping to a LogEvent; remembers which paths it consumed."""

    __slots__ = ("found", "obj", "parser")

    def __init__(self, obj: dict[str, Any], parser: str) -> None:
        self.obj, self.parser = obj, parser
        self.found: Found = {}
        _collect(obj, "", self.found)

    @property
    def consumed(self) -> set[str]:
        return {path for _, path, _ in self.found.values()}

    def get(self, field: str) -> Any:
        hit = self.found.get(field)
        return None if hit is None else hit[2]

    def text(self, field: str, what: str) -> str | None:
        hit = self.found.get(field)
        if hit is None:
            return None
        value = hit[2]
        if type(value) is str:
            return value or None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dict) and what == "service":  # {"service": {"name": ...}}
            name = value.get("name")
            return name if isinstance(name, str) and name else None
        raise ParseError(Reason.BAD_FIELD, f"{what} is a {type(value).__name__}",
                         parser=self.parser)

    def number(self, field: str, what: str) -> float | None:
        hit = self.found.get(field)
        if hit is None:
            return None
        value = hit[2]
        if type(value) is int or type(value) is float:
            return float(value)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ParseError(Reason.BAD_FIELD, f"{what} is a {type(value).__name__}",
                             parser=self.parser)
        try:
            return float(value)
        except ValueError:
            raise ParseError(Reason.BAD_FIELD, f"{what} is not a number: {str(value)[:64]!r}",
                             parser=self.parser) from None

    def timestamp(self, field: str, fallback: float) -> float:
        raw = self.get(field)
        if raw is None:
            return fallback
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ParseError(Reason.BAD_FIELD, f"timestamp is a {type(raw).__name__}",
                             parser=self.parser)
        if isinstance(raw, str):
            try:
                return epoch_from_iso(raw)
            except ValueError:
                try:
                    return epoch_from_number(float(raw))
                except ValueError:
                    raise ParseError(Reason.BAD_FIELD, f"unreadable timestamp {raw[:64]!r}",
                                     parser=self.parser) from None
        return epoch_from_number(float(raw))

    def event(self, ctx: RecordContext) -> LogEvent:
        ts = self.timestamp("ts", ctx.observed_ts)
        level = self.text("level", "level")
        number = self.number("severity_number", "severity number")
        severity = int(number) if number is not None and 0 < number <= 24 else 0
        if severity == 0:
            severity = severity_number(level)
        message = self.get("message")
        if message is not None and not isinstance(message, str):
            message = orjson.dumps(message).decode()
        http = self.http()
        if message is None:
            message = "" if http is None else (
                f"{http.method or '-'} {http.path or '-'} {http.status or '-'}")
        event = LogEvent(
            event_id=ctx.event_id,
            ts=ts,
            observed_ts=ctx.observed_ts,
            service=self.text("service", "service") or ctx.service or ctx.source_name or "unknown",
            message=message,
            severity_number=severity,
            severity_text=level or (severity_text(severity) if severity else ""),
            host=self.text("host", "host"),
            env=self.text("env", "env"),
            source_name=ctx.source_name,
            logger=self.text("logger", "logger"),
            http=http,
            trace_id=self.text("trace_id", "trace id"),
            span_id=self.text("span_id", "span id"),
            parser=self.parser,
        )
        supplied_id = self.obj.get("event_id")
        if isinstance(supplied_id, str) and supplied_id:
            event.event_id = supplied_id  # a producer-supplied id wins (DESIGN §3)
        error = {key: v for key, field in (("type", "error_type"), ("message", "error_message"),
                                          ("stack_trace", "error_stack"))
                 if (v := self.get(field)) is not None}
        consumed = self.consumed
        if isinstance(supplied_id, str) and supplied_id:
            consumed.add("event_id")
        attrs = _unconsumed(self.obj, consumed) if consumed else dict(self.obj)
        otel_attrs = attrs.pop("Attributes", None)
        if isinstance(otel_attrs, dict):
            attrs.update(otel_attrs)
        if error:
            attrs["error"] = error
        event.attrs = attrs
        return event

    def http(self) -> HttpInfo | None:
        if self.found.keys().isdisjoint(_HTTP_FIELDS):
            return None
        status = self.number("status", "http status")
        method = self.text("method", "http method")
        path = self.text("path", "http path")
        latency = self.number("latency_ms", "latency")
        if latency is None and (nanos := self.number("duration_ns", "event.duration")) is not None:
            latency = nanos / 1e6
        client_ip = self.text("client_ip", "client ip")
        if status is None and method is None and path is None and latency is None:
            return None
        size = self.number("bytes", "bytes")
        if status is not None and not 100 <= status <= 999:
            raise ParseError(Reason.BAD_FIELD, f"http status {status:g} out of range",
                             parser=self.parser)
        return HttpInfo(method=method, path=path, status=None if status is None else int(status),
                        bytes=None if size is None else int(size), duration_ms=latency,
                        client_ip=client_ip, user_agent=self.text("user_agent", "user agent"))


def _collect(obj: dict[str, Any], prefix: str, found: Found) -> None:
    """Walk only the keys the line has, noting every alias of a canonical field."""
    for key, value in obj.items():
        path = prefix + key if prefix else key
        if value is None:
            continue
        hit = _RANK.get(path)
        if hit is not None:
            name, rank = hit
            prev = found.get(name)
            if prev is None or rank < prev[0]:
                found[name] = (rank, path, value)
        if path in _CONTAINERS and isinstance(value, dict):
            _collect(value, path + ".", found)


def _unconsumed(obj: dict[str, Any], consumed: set[str], prefix: str = "") -> dict[str, Any]:
    """``obj`` without the consumed paths (containers emptied by that are dropped)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = prefix + key
        if path in consumed:
            continue
        if isinstance(value, dict) and any(c.startswith(path + ".") for c in consumed):
            rest = _unconsumed(value, consumed, path + ".")
            if rest:
                out[key] = rest
        else:
            out[key] = value
    return out


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of containers, stopping as soon as ``limit`` is exceeded."""
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                nxt.extend(v for v in item if isinstance(v, dict | list))
        level = nxt
    return depth
