"""JSON lines: ECS, OpenTelemetry-ish and ad hoc keys, one object per line."""

from __future__ import annotations

from typing import Any

import orjson

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import severity_from_http_status, severity_number, severity_text
from app.core.timeparse import epoch_from_iso, epoch_from_number

_TS_KEYS = ("@timestamp", "timestamp", "ts", "time")
_LEVEL_KEYS = ("level", "log.level", "lvl", "severity", "severity_text", "levelname")
_MESSAGE_KEYS = ("message", "msg", "body")
_SERVICE_KEYS = ("service", "service.name", "app", "application")
_HOST_KEYS = ("host", "hostname", "host.name")
_LATENCY_KEYS = ("latency_ms", "duration_ms", "response_time_ms", "elapsed_ms")
_CONSUMED = frozenset(
    _TS_KEYS + _LEVEL_KEYS + _MESSAGE_KEYS + _SERVICE_KEYS + _HOST_KEYS + _LATENCY_KEYS
    + ("trace_id", "span_id", "env", "environment", "http", "log", "status", "method", "path")
)


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
        # counting brackets (fast, in C) bounds the depth; walk only when it could be deep
        brackets = text.count("{") + text.count("[")
        if brackets > ctx.max_json_depth and _depth(obj, ctx.max_json_depth) > ctx.max_json_depth:
            raise ParseError(Reason.JSON_TOO_DEEP,
                             f"nesting deeper than {ctx.max_json_depth}", parser=self.name)
        return self._to_event(obj, ctx)

    def _to_event(self, obj: dict[str, Any], ctx: RecordContext) -> LogEvent:
        nested_log = _section(obj, "log")
        ts = _timestamp(_first(obj, _TS_KEYS), ctx.observed_ts, self.name)
        level = _text(_first(obj, _LEVEL_KEYS) or nested_log.get("level"), "level", self.name)
        service = _service(obj) or ctx.service or ctx.source_name or "unknown"
        http = _http(obj, self.name)
        number = severity_number(level)
        if number == 0 and http is not None and http.status is not None:
            number = severity_from_http_status(http.status)
        message = _first(obj, _MESSAGE_KEYS)
        if message is None:
            message = ("" if http is None
                       else f"{http.method or '-'} {http.path or '-'} {http.status}")
        elif not isinstance(message, str):
            message = orjson.dumps(message).decode()
        host = _first(obj, _HOST_KEYS)
        if isinstance(host, dict):
            host = host.get("name") or host.get("hostname")
        attrs = {k: v for k, v in obj.items() if k not in _CONSUMED}
        return LogEvent(
            event_id=str(obj.get("event_id") or ctx.event_id),
            ts=ts,
            observed_ts=ctx.observed_ts,
            service=service,
            message=message,
            severity_number=number,
            severity_text=level or severity_text(number),
            host=host if isinstance(host, str) else None,
            env=_opt_str(obj.get("env") or obj.get("environment")),
            source_name=ctx.source_name,
            http=http,
            trace_id=_opt_str(obj.get("trace_id")),
            span_id=_opt_str(obj.get("span_id")),
            attrs=attrs,
            parser=self.name,
        )


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in obj and obj[key] is not None:
            return obj[key]
    return None


def _section(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


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


def _timestamp(raw: Any, fallback: float, parser: str) -> float:
    if raw is None:
        return fallback
    if isinstance(raw, bool):
        raise ParseError(Reason.BAD_FIELD, "timestamp is a boolean", parser=parser)
    if isinstance(raw, int | float):
        return epoch_from_number(float(raw))
    if isinstance(raw, str):
        try:
            return epoch_from_iso(raw)
        except ValueError:
            try:
                return epoch_from_number(float(raw))
            except ValueError:
                raise ParseError(Reason.BAD_FIELD, f"unreadable timestamp {raw[:64]!r}",
                                 parser=parser) from None
    raise ParseError(Reason.BAD_FIELD, f"timestamp is a {type(raw).__name__}", parser=parser)


def _text(raw: Any, what: str, parser: str) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise ParseError(Reason.BAD_FIELD, f"{what} is a {type(raw).__name__}", parser=parser)


def _opt_str(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def _service(obj: dict[str, Any]) -> str | None:
    raw = _first(obj, _SERVICE_KEYS)
    if isinstance(raw, dict):
        raw = raw.get("name")
    return raw if isinstance(raw, str) and raw else None


def _http(obj: dict[str, Any], parser: str) -> HttpInfo | None:
    nested = _section(obj, "http")
    status = nested.get("status", nested.get("status_code", obj.get("status")))
    method = nested.get("method", obj.get("method"))
    path = nested.get("path", nested.get("url", obj.get("path")))
    latency = _first(nested, _LATENCY_KEYS)
    if latency is None:
        latency = _first(obj, _LATENCY_KEYS)
    size = nested.get("bytes", nested.get("response_bytes"))
    if status is None and method is None and path is None and latency is None:
        return None
    try:
        return HttpInfo(
            method=str(method) if method is not None else None,
            path=str(path) if path is not None else None,
            status=int(status) if status is not None else None,
            bytes=int(size) if size is not None else None,
            duration_ms=float(latency) if latency is not None else None,
            client_ip=_opt_str(nested.get("client_ip")),
            user_agent=_opt_str(nested.get("user_agent")),
        )
    except (TypeError, ValueError) as exc:
        raise ParseError(Reason.BAD_FIELD, f"http field: {exc}", parser=parser) from None
