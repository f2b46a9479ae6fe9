"""JSON lines: ECS, the OpenTelemetry log data model, and common ad hoc keys.

Keys are looked up flat (``"log.level"``) and nested (``{"log": {"level": ...}}``), as
ECS allows both. What a line says beyond the canonical fields is kept in ``attrs``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

import orjson

from app.core.errors import ParseError, Reason
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext, stores_fields_only
from app.core.severity import _SPELLED, severity_number, severity_text
from app.core.timeparse import (
    _LAST_SECOND,
    _MILLIS_FLOAT,
    epoch_from_iso,
    epoch_from_iso_utc,
    epoch_from_number,
)

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
Row = tuple[Any, ...]  # the value of each of _ROW in order, None if absent
#: the fields in the order ``_event`` unpacks them
_ROW = ("ts", "observed_ts", "level", "severity_number", "message", "service", "env", "host",
        "logger", "trace_id", "span_id", "method", "path", "status", "bytes", "latency_ms",
        "duration_ns", "client_ip", "user_agent", "error_type", "error_message", "error_stack")
if sorted(_ROW) != sorted(_FIELDS):
    raise RuntimeError("json_lines: _ROW must name every field of _FIELDS once")
#: dotted alias -> every container path above it ("http.response.body.bytes" ->
#: "http.response.body", "http.response", "http"); consumed paths are always aliases
_HEADS: dict[str, tuple[str, ...]] = {
    alias: tuple(alias.rsplit(".", n)[0] for n in range(1, alias.count(".") + 1))
    for alias in _RANK if "." in alias}


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
        keys = tuple(obj)
        top = _TOP.get(keys)
        if top is not None and top is not _SEEN_ONCE:
            build = top.build
            if build is not None:  # the compiled plan of the shape these keys had last
                # (it checks the depth itself, before anything that could fail)
                event = build(obj, ctx, self.name, text)
                if event is not None:
                    return event
        _check_depth(text, obj, ctx.max_json_depth, self.name)
        return _event(obj, ctx, self.name, keys, top)


def _check_depth(text: str, obj: dict[str, Any], limit: int, parser: str) -> None:
    """Raise ``JSON_TOO_DEEP`` if ``obj`` (parsed from ``text``) nests deeper than
    ``limit``: the first thing checked of an object."""
    # counting brackets (in C) bounds the depth; walk only when it could be too deep
    brackets = text.count("{") + (text.count("[") if "[" in text else 0)
    if brackets > limit and _depth(obj, limit) > limit:
        raise ParseError(Reason.JSON_TOO_DEEP, f"nesting deeper than {limit}", parser=parser)


# The mapping runs once per line, so it is written flat: the fields arrive as one row
# (``_map``), str and number values (the common case) are taken inline, the slow and
# failing cases go to helpers. Fields are read in a fixed order, which decides the error
# reported for a line with several bad fields. A common shape has this function compiled
# for it (``_builder_source``, below): the same statements in the same order, without
# those of the fields the shape lacks. Change one, change the other; the tests in
# tests/unit/parsing/test_json_plans.py compare them.

def _event(obj: dict[str, Any], ctx: RecordContext, parser: str, keys: tuple[str, ...],
           top: _Top | None) -> LogEvent:
    """The event of ``obj``; ``keys`` is ``tuple(obj)``, ``top`` what ``_TOP`` holds for
    them (the caller has tried its compiled plan)."""
    row, attrs = _map(obj, keys, top)
    (ts_raw, _observed, level_raw, number_raw, message, service_raw, env_raw, host_raw,
     logger_raw, trace_raw, span_raw, method_raw, path_raw, status_raw, bytes_raw,
     latency_raw, nanos_raw, client_ip_raw, user_agent_raw, error_type, error_message,
     error_stack) = row

    if ts_raw is None:
        ts = ctx.observed_ts
    else:
        fast = epoch_from_iso_utc(ts_raw) if type(ts_raw) is str else None
        ts = fast if fast is not None else _timestamp(ts_raw, parser)

    level = None if level_raw is None else (
        (level_raw or None) if type(level_raw) is str else _text(level_raw, "level", parser))
    severity = 0
    if number_raw is not None:
        number = _number(number_raw, "severity number", parser)
        if 0 < number <= 24:
            severity = int(number)
    if severity == 0:
        severity = severity_number(level)

    if message is not None and not isinstance(message, str):
        message = orjson.dumps(message).decode()
    http = None if (status_raw is None and method_raw is None and path_raw is None
                    and latency_raw is None and nanos_raw is None) else _http(
        status_raw, method_raw, path_raw, latency_raw, nanos_raw, client_ip_raw, bytes_raw,
        user_agent_raw, parser)
    if message is None:
        message = "" if http is None else (
            f"{http.method or '-'} {http.path or '-'} {http.status or '-'}")

    service = None if service_raw is None else (
        (service_raw or None) if type(service_raw) is str
        else _text(service_raw, "service", parser))
    host = None if host_raw is None else (
        (host_raw or None) if type(host_raw) is str else _text(host_raw, "host", parser))
    env = None if env_raw is None else _text(env_raw, "env", parser)
    logger = None if logger_raw is None else _text(logger_raw, "logger", parser)
    trace_id = None if trace_raw is None else (
        (trace_raw or None) if type(trace_raw) is str else _text(trace_raw, "trace id", parser))
    span_id = None if span_raw is None else _text(span_raw, "span id", parser)

    event_id = ctx.event_id
    supplied_id = obj.get("event_id")
    if isinstance(supplied_id, str) and supplied_id:
        event_id = supplied_id  # a producer-supplied id wins (DESIGN §3)
        attrs.pop("event_id", None)
    otel_attrs = attrs.pop("Attributes", None)
    if isinstance(otel_attrs, dict):
        attrs.update(otel_attrs)
    if error_type is not None or error_message is not None or error_stack is not None:
        attrs["error"] = {key: value for key, value in (
            ("type", error_type), ("message", error_message), ("stack_trace", error_stack))
            if value is not None}
    # positional, in LogEvent's field order: keyword arguments cost twice as much here
    return LogEvent(
        event_id, ts, ctx.observed_ts,
        service or ctx.service or ctx.source_name or "unknown",  # service
        message, severity,
        level or (severity_text(severity) if severity else ""),  # severity_text
        host, env, "kafka", ctx.source_name, logger, http,
        None, trace_id, span_id, None, False,  # geo, trace, span, template_id, is_error
        {}, attrs, parser)  # service_meta, attrs, parser


def _http(status_raw: Any, method_raw: Any, path_raw: Any, latency_raw: Any,
          nanos_raw: Any, client_ip_raw: Any, bytes_raw: Any, user_agent_raw: Any,
          parser: str) -> HttpInfo | None:
    status = None if status_raw is None else (
        float(status_raw) if type(status_raw) is int or type(status_raw) is float
        else _number(status_raw, "http status", parser))
    method = None if method_raw is None else (
        (method_raw or None) if type(method_raw) is str
        else _text(method_raw, "http method", parser))
    path = None if path_raw is None else (
        (path_raw or None) if type(path_raw) is str else _text(path_raw, "http path", parser))
    latency = None if latency_raw is None else (
        float(latency_raw) if type(latency_raw) is int or type(latency_raw) is float
        else _number(latency_raw, "latency", parser))
    if latency is None and nanos_raw is not None:
        latency = _number(nanos_raw, "event.duration", parser) / 1e6
    client_ip = None if client_ip_raw is None else _text(client_ip_raw, "client ip", parser)
    if status is None and method is None and path is None and latency is None:
        return None
    size = None if bytes_raw is None else (
        float(bytes_raw) if type(bytes_raw) is int or type(bytes_raw) is float
        else _number(bytes_raw, "bytes", parser))
    if status is not None and not 100 <= status <= 999:
        raise ParseError(Reason.BAD_FIELD, f"http status {status:g} out of range",
                         parser=parser)
    user_agent = (None if user_agent_raw is None
                  else _text(user_agent_raw, "user agent", parser))
    # positional, in HttpInfo's field order (route and protocol are None)
    return HttpInfo(method, path, None, None, None if status is None else int(status),
                    None if size is None else int(size), latency, client_ip, None, user_agent)


def _text(value: Any, what: str, parser: str) -> str | None:
    """A text field's value (``value`` is not None)."""
    if type(value) is str:
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and what == "service":  # {"service": {"name": ...}}
        name = value.get("name")
        return name if isinstance(name, str) and name else None
    raise ParseError(Reason.BAD_FIELD, f"{what} is a {type(value).__name__}", parser=parser)


def _number(value: Any, what: str, parser: str) -> float:
    """A number field's value (``value`` is not None)."""
    if type(value) is int or type(value) is float:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ParseError(Reason.BAD_FIELD, f"{what} is a {type(value).__name__}",
                         parser=parser)
    try:
        return float(value)
    except ValueError:
        raise ParseError(Reason.BAD_FIELD, f"{what} is not a number: {str(value)[:64]!r}",
                         parser=parser) from None


def _timestamp(raw: Any, parser: str) -> float:
    """The event time of a timestamp field (``raw`` is not None)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ParseError(Reason.BAD_FIELD, f"timestamp is a {type(raw).__name__}",
                         parser=parser)
    if isinstance(raw, str):
        try:
            return epoch_from_iso(raw)
        except ValueError:
            try:
                return epoch_from_number(float(raw))
            except ValueError:
                raise ParseError(Reason.BAD_FIELD, f"unreadable timestamp {raw[:64]!r}",
                                 parser=parser) from None
    return epoch_from_number(float(raw))


# ---------------------------------------------------------------- fields and attrs
#
# The reference walk: ``_collect`` notes every alias the object has (a lower rank wins, a
# None value counts as absent) and ``_unconsumed`` is what remains for ``attrs``. It
# costs a dict lookup or two per key, every line. Lines of one source share their
# *shape* (keys in order, at every level the walk visits), and the outcome of the walk
# depends on the shape alone once the winning values are known not to be None: so
# ``_Plan`` records, per shape, which keys hold the fields and which keys are left for
# ``attrs``, and a line of a known shape is mapped by a few C-level item fetches. Once
# ``_COMPILE_AFTER`` lines had a shape, its plan is compiled into a function that checks
# the shape, fetches the values and builds the event (``_Top.build``, tried first).

def _map(obj: dict[str, Any], keys: tuple[str, ...], top: _Top | None
         ) -> tuple[Row, dict[str, Any]]:
    """``(the row of field values, attrs)`` of an object (attrs still hold ``event_id``);
    ``keys`` is ``tuple(obj)`` and ``top`` what ``_TOP`` holds for them."""
    # keys or shapes seen once may never come back (ids in keys): plan them the second time
    if top is None:
        if len(_TOP) >= _TOP_MAX:
            _TOP.clear()
        _TOP[keys] = _SEEN_ONCE
        plan = None
    else:
        if top is _SEEN_ONCE:
            top = _TOP[keys] = _Top(keys)
        containers = top.containers
        shape: Shape = tuple([
            _shape(value, below) if type(value := obj[key]) is dict else None
            for key, below in containers]) if containers else ()
        plans = top.plans
        plan = plans.get(shape)
        if plan is None:
            if len(plans) >= _PLANS_MAX:
                plans.clear()
            plans[shape] = _SEEN_ONCE
        elif plan is _SEEN_ONCE:
            plan = plans[shape] = _Plan(obj)
        else:
            top.build = plan.build or plan.count_hit(obj)
    if plan is not None and plan is not _SEEN_ONCE:
        got = plan.top(obj)
        for where, fetch in plan.nested:
            node = obj
            for key in where:
                node = node[key]
            got += fetch(node)
        if None not in got:
            return plan.arrange(got + _ABSENT), _rest(obj, plan.attrs) if plan.attrs else {}
        # a winning alias is null in this line: the walk decides
    found: Found = {}
    _collect(obj, found)
    consumed = {hit[1] for hit in found.values()}
    return (tuple([found[name][2] if name in found else None for name in _ROW]),
            _unconsumed(obj, consumed) if consumed else dict(obj))


def _collect(obj: dict[str, Any], found: Found, prefix: str = "") -> None:
    """Walk only the keys the line has, noting every alias of a canonical field."""
    rank_of, containers = _RANK, _CONTAINERS
    for key, value in obj.items():
        if value is None:
            continue
        path = prefix + key
        hit = rank_of.get(path)
        if hit is not None:
            name, rank = hit
            prev = found.get(name)
            if prev is None or rank < prev[0]:
                found[name] = (rank, path, value)
        if path in containers and isinstance(value, dict):
            _collect(value, found, path + ".")


def _unconsumed(obj: dict[str, Any], consumed: set[str]) -> dict[str, Any]:
    """``obj`` without the consumed paths (containers emptied by that are dropped)."""
    heads = _heads(consumed)
    if not heads:
        return {k: v for k, v in obj.items() if k not in consumed}
    return _prune(obj, consumed, heads, "")


def _heads(consumed: set[str]) -> set[str]:
    heads: set[str] = set()
    for path in consumed:
        above = _HEADS.get(path)
        if above is not None:
            heads.update(above)
    return heads


def _prune(obj: dict[str, Any], consumed: set[str], heads: set[str],
           prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = prefix + key
        if path in consumed:
            continue
        if path in heads and isinstance(value, dict):
            rest = _prune(value, consumed, heads, path + ".")
            if rest:
                out[key] = rest
        else:
            out[key] = value
    return out


Shape = tuple[Any, ...]
Fetch = Callable[[dict[str, Any]], tuple[Any, ...]]
#: what is left for attrs: (key, None) keeps the value, (key, Rest) keeps what is left of
#: a container; empty containers are already left out
Rest = tuple[tuple[str, "Rest | None"], ...]
_LEVELS: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}
_LEVELS_MAX = 2048
_TOP_MAX = 512  # distinct top-level key sequences
_PLANS_MAX = 64  # distinct shapes below one top-level key sequence
_COMPILE_AFTER = 16  # lines of one shape before its plan is compiled to a function
_COMPILE_MAX_KEYS = 256  # shapes with more keys to fetch or check keep the generic plan
Builder = Callable[[dict[str, Any], RecordContext, str, str], "LogEvent | None"]


def _containers(prefix: str, keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The keys of a level the walk descends into (when their value is an object)."""
    return tuple((key, f"{prefix}{key}.") for key in keys if prefix + key in _CONTAINERS)


class _Top:
    """One sequence of top-level keys: its container keys and the plans of its shapes."""

    __slots__ = ("build", "containers", "plans")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.containers = _containers("", keys)
        self.plans: dict[Shape, _Plan] = {}
        self.build: Builder | None = None  # the compiled plan last used for these keys


def _shape(obj: dict[str, Any], prefix: str) -> Shape:
    """The keys of a nested object in order, and the shape of each container the walk
    enters (None for a container key whose value is not an object)."""
    keys = tuple(obj)
    level = (prefix, keys)
    containers = _LEVELS.get(level)
    if containers is None:
        if len(_LEVELS) >= _LEVELS_MAX:
            _LEVELS.clear()
        containers = _LEVELS[level] = _containers(prefix, keys)
    if not containers:
        return keys
    return keys, tuple([_shape(value, below) if type(value := obj[key]) is dict else None
                        for key, below in containers])


class _Plan:
    """The walk's outcome for one shape, on the assumption that no alias is null.

    ``top`` fetches the values of the top-level keys that hold fields, each of
    ``nested`` (keys down to an object, fetch) those of one nested object; ``arrange``
    orders all of them (and None for the fields the shape lacks) as a row of
    ``_ROW``. ``attrs`` is what ``_unconsumed`` leaves. Built by the same rules as
    ``_collect`` and ``_prune``.
    """

    __slots__ = ("arrange", "attrs", "build", "fields", "hits", "nested", "top")

    def __init__(self, obj: dict[str, Any]) -> None:
        found: dict[str, tuple[int, str, tuple[str, ...]]] = {}
        _plan_walk(obj, found, "", ())
        by_object: dict[tuple[str, ...], list[tuple[str, str]]] = {(): []}
        for name, (_, _, key_path) in found.items():
            by_object.setdefault(key_path[:-1], []).append((key_path[-1], name))
        position: dict[str, int] = {}
        fetches: list[tuple[tuple[str, ...], Fetch]] = []
        offset = 0
        for where, pairs in by_object.items():
            keys = [key for key, _ in pairs]
            if len(keys) == 1:  # itemgetter of one key returns the bare value: ask twice
                keys *= 2
            fetches.append((where, itemgetter(*keys) if keys else _nothing))
            for index, (_, name) in enumerate(pairs):
                position[name] = offset + index
            offset += len(keys)
        (_, self.top), *nested = fetches
        self.nested = tuple(nested)
        # the row: fetched values, then the None that _map appends for absent fields
        self.arrange: Callable[[tuple[Any, ...]], Row] = itemgetter(
            *[position.get(name, offset) for name in _ROW])
        consumed = {path for _, path, _ in found.values()}
        self.attrs = _plan_rest(obj, consumed, _heads(consumed), "")
        # the key path of each field, kept for compiling
        self.fields = {name: key_path for name, (_, _, key_path) in found.items()}
        self.hits = 0
        self.build: Builder | None = None

    def count_hit(self, obj: dict[str, Any]) -> Builder | None:
        """Note one more line (``obj``) of this shape; compile the plan once
        ``_COMPILE_AFTER`` lines had the shape."""
        self.hits += 1
        if self.hits == _COMPILE_AFTER:  # once: a shape too large to compile stays generic
            compiled = _builder_source(obj, self.fields, self.attrs)
            if compiled is not None:
                source, constants = compiled
                namespace = {**_BUILDER_GLOBALS, **constants}
                exec(compile(source, "<json_lines plan>", "exec"), namespace)  # noqa: S102
                self.build = namespace["build"]
        return self.build


def _builder_source(obj: dict[str, Any], fields: dict[str, tuple[str, ...]],
                    attrs: Rest) -> tuple[str, dict[str, Any]] | None:
    """Python source of ``build(obj, ctx, parser, text)``: the depth check and ``_event``
    for objects of the shape of ``obj`` (``text``: the line ``obj`` was parsed from;
    ``fields``: the key path of each field the shape's plan found; ``attrs``: what it
    leaves for attrs), with the code of the fields the shape lacks left out.

    ``build`` returns None, for the generic path to decide, when ``obj`` has another shape
    below the top level (the top-level keys are the caller's to check) or a null where the
    plan expects a field. Otherwise it checks the depth as ``JsonLinesParser.parse`` does
    (unless every value has the flat type the sample's had: the line is then as deep as
    the shape) and does what ``_event`` does, statement for statement and in the same
    order (so the same error for a bad line), leaving out the checks of the types the
    guard made sure of. Keys are passed as
    constants, never written into the source. None when the shape is too large to be
    worth compiling.
    """
    constants: dict[str, Any] = {}
    code = ["def build(obj, ctx, parser, text):"]
    nodes: dict[tuple[str, ...], str] = {(): "obj"}

    def const(value: Any) -> str:
        name = f"_c{len(constants)}"
        constants[name] = value
        return name

    indent = [0]  # added to every depth (1 within the typed body)

    def emit(line: str, depth: int = 1) -> None:
        code.append("    " * (depth + indent[0]) + line)

    def construct(var: str, cls: type, global_name: str, values: dict[str, str],
                  depth: int = 1) -> None:
        # cls(**values), written as one store per slot: half the cost of calling the
        # dataclass's __init__ (which does nothing else, see stores_fields_only)
        if not stores_fields_only(cls, tuple(values)):
            args = ", ".join(f"{name}={value}" for name, value in values.items())
            emit(f"{var} = {global_name}({args})", depth)
            return
        emit(f"{var} = _new({global_name})", depth)
        for name, value in values.items():
            emit(f"{var}.{name} = {value}", depth)

    def check(var: str, node: dict[str, Any], prefix: str, path: tuple[str, ...]) -> None:
        # the containers _shape() looks into: each a dict with the same keys, or not a dict
        for key, below in _containers(prefix, tuple(node)):
            value = node[key]
            if type(value) is dict:
                inner = nodes[(*path, key)] = f"n{len(nodes)}"
                emit(f"{inner} = {var}[{const(key)}]")
                # the same keys in any order will do when nothing of the object goes to
                # attrs (where the order shows), every key of it is fetched (a field or a
                # container checked here: a missing one raises KeyError), and none has a
                # dot (two aliases of one path, "a": {"b.c"} and "a": {"b": {"c"}}: the
                # first wins, so the order of the object holding them matters)
                if _keeps(attrs, (*path, key)) or not all(
                        "." not in name and ((*path, key, name) in fetched
                                             or below + name in _CONTAINERS)
                        for name in value):
                    emit(f"if type({inner}) is not dict or tuple({inner}) != "
                         f"{const(tuple(value))}:")
                else:
                    emit(f"if type({inner}) is not dict or len({inner}) != {len(value)}:")
                    unordered.append(inner)
                emit("return None", 2)
                check(inner, value, below, (*path, key))
            else:
                emit(f"if type({var}[{const(key)}]) is dict:")
                emit("return None", 2)

    # what goes to attrs: each value kept is fetched into a local (r0, r1...) before
    # the depth check, which looks at its type; the dict is built from the locals
    kept: dict[tuple[str, ...], tuple[str, str]] = {}  # key path -> (local, key's name)

    def fetch_rest(path: tuple[str, ...], recipe: Rest) -> None:
        for key, below in recipe:
            if below is None:
                local, name = kept[(*path, key)] = f"r{len(kept)}", const(key)
                emit(f"{local} = {nodes[path]}[{name}]")
            else:  # a container of the shape (checked above, so it has a node)
                fetch_rest((*path, key), below)

    def rest(path: tuple[str, ...], recipe: Rest) -> str:
        items = []
        for key, below in recipe:
            if below is None:
                local, name = kept[(*path, key)]
                items.append(f"{name}: {local}")
            else:
                name = containers.get((*path, key)) or containers.setdefault(
                    (*path, key), const(key))
                items.append(f"{name}: {rest((*path, key), below)}")
        return "{" + ", ".join(items) + "}"

    containers: dict[tuple[str, ...], str] = {}  # rest(): the name of a container's key

    def body(typed: dict[str, type]) -> None:
        """``_event`` from the fetched values, known not to be None; ``typed``: the
        fields whose type is known (from the guard), whose checks are left out."""
        has = fields.__contains__
        is_str = {name for name, kind in typed.items() if kind is str}.__contains__

        def text(name: str, var: str, what: str, fast: bool = True) -> None:
            # _text(), its common case inlined where _event inlines it
            if not has(name):
                emit(f"{var} = None")
            elif is_str(name):
                emit(f"{var} = v_{name} or None")
            elif fast:
                emit(f"{var} = (v_{name} or None) if type(v_{name}) is str else "
                     f"_text(v_{name}, {what!r}, parser)")
            else:
                emit(f"{var} = _text(v_{name}, {what!r}, parser)")

        def number(name: str, var: str, what: str, kept: str) -> None:
            # _number(), but an int for which ``kept`` holds is kept as it is
            value, kind = f"v_{name}", typed.get(name)
            emit(f"{var} = None" if not has(name) else
                 f"{var} = {value} if {kept} else float({value})" if kind is int else
                 f"{var} = {value}" if kind is float else
                 f"{var} = {value} if type({value}) is int and {kept} else float({value}) "
                 f"if type({value}) is int or type({value}) is float else "
                 f"_number({value}, {what!r}, parser)")

        if has("ts"):  # epoch_from_iso_utc()'s first lines inlined, then as in _event
            emit(("" if is_str("ts") else "type(v_ts) is str and ").join((
                "if ", "len(v_ts) == 24 and v_ts[:19] == (last := _LAST_SECOND[0])[0] "
                "and (micros := _MILLIS_FLOAT.get(v_ts[19:])) is not None:")))
            emit("ts = (last[1] + micros) / 1e6", 2)
            emit("else:")
            emit("fast = _iso_utc(v_ts)" if is_str("ts") else
                 "fast = _iso_utc(v_ts) if type(v_ts) is str else None", 2)
            emit("ts = fast if fast is not None else _timestamp(v_ts, parser)", 2)
        else:
            emit("ts = ctx.observed_ts")
        text("level", "level", "level")
        if has("severity_number"):
            emit("number = _number(v_severity_number, 'severity number', parser)")
            emit("severity = int(number) if 0 < number <= 24 else 0")
            emit("if severity == 0:")
            emit("severity = _severity_number(level)", 2)
        elif has("level"):  # severity_number()'s common case inlined: a usual spelling
            emit("severity = _SPELLED.get(level) if level is not None else 0")
            emit("if severity is None:")
            emit("severity = _severity_number(level)", 2)
        else:
            emit("severity = 0")  # severity_number(None)
        if has("message"):
            emit("message = v_message")
            if not is_str("message"):
                emit("if not isinstance(message, str):")
                emit("message = _dumps(message).decode()", 2)
        if not any(map(has, ("status", "method", "path", "latency_ms", "duration_ns"))):
            emit("http = None")
        else:  # _http()
            status_type = typed.get("status")
            # an int status in range stays an int: int(float(status)) is the same number
            number("status", "status", "http status", "100 <= v_status <= 999")
            text("method", "method", "http method")
            text("path", "path", "http path")
            if has("latency_ms"):
                latency_type = typed.get("latency_ms")
                emit("latency = v_latency_ms" if latency_type is float else
                     "latency = float(v_latency_ms)" if latency_type is int else
                     "latency = v_latency_ms if type(v_latency_ms) is float else "
                     "float(v_latency_ms) if type(v_latency_ms) is int else "
                     "_number(v_latency_ms, 'latency', parser)")
            elif has("duration_ns"):
                emit("latency = _number(v_duration_ns, 'event.duration', parser) / 1e6")
            else:
                emit("latency = None")
            text("client_ip", "client_ip", "client ip", fast=False)
            # a number status is never None: no test of the four
            numbered = status_type is int or status_type is float
            if not numbered:
                emit("if status is None and method is None and path is None and "
                     "latency is None:")
                emit("http = None", 2)
                emit("else:")
                indent[0] += 1
            # an int size that a float holds exactly stays an int (int(float(size)) is it)
            number("bytes", "size", "bytes", "-_EXACT <= v_bytes <= _EXACT")
            emit("if not 100 <= status <= 999:" if numbered else
                 "if status is not None and not 100 <= status <= 999:")
            emit("raise _ParseError(_BAD_FIELD, f'http status {status:g} out of range', "
                 "parser=parser)", 2)
            text("user_agent", "user_agent", "user agent", fast=False)
            construct("http", HttpInfo, "_HttpInfo", {
                "method": "method", "path": "path", "route": "None", "protocol": "None",
                # an int status is in range here: still that int
                "status": "status" if status_type is int else
                          "None if status is None else status if type(status) is int "
                          "else int(status)",
                "bytes": "None if size is None else size if type(size) is int else int(size)",
                "duration_ms": "latency", "client_ip": "client_ip", "referrer": "None",
                "user_agent": "user_agent", "ua": "None"})
            if not numbered:
                indent[0] -= 1
        if not has("message"):
            emit("message = '' if http is None else "
                 "f\"{http.method or '-'} {http.path or '-'} {http.status or '-'}\"")
        text("service", "service", "service")
        text("host", "host", "host")
        text("env", "env", "env", fast=False)
        text("logger", "logger", "logger", fast=False)
        text("trace_id", "trace_id", "trace id")
        text("span_id", "span_id", "span id", fast=False)
        emit(f"attrs = {rest((), attrs)}")
        emit("event_id = ctx.event_id")
        if "event_id" in obj:
            emit(f"supplied_id = obj[{event_id_key()}]")
            emit("if isinstance(supplied_id, str) and supplied_id:")
            emit("event_id = supplied_id", 2)
            emit("attrs.pop('event_id', None)", 2)
        if "Attributes" in obj:
            emit("otel_attrs = attrs.pop('Attributes', None)")
            emit("if isinstance(otel_attrs, dict):")
            emit("attrs.update(otel_attrs)", 2)
        errors = [(key, f"v_{name}") for key, name in (
            ("type", "error_type"), ("message", "error_message"),
            ("stack_trace", "error_stack")) if has(name)]
        if errors:
            emit("attrs['error'] = {"
                 + ", ".join(f"{key!r}: {var}" for key, var in errors) + "}")
        construct("event", LogEvent, "_LogEvent", {
            "event_id": "event_id", "ts": "ts", "observed_ts": "ctx.observed_ts",
            "service": "service or ctx.service or ctx.source_name or 'unknown'",
            "message": "message", "severity_number": "severity",
            "severity_text": "level or (_severity_text(severity) if severity else '')",
            "host": "host", "env": "env", "source_type": "'kafka'",
            "source_name": "ctx.source_name", "logger": "logger", "http": "http",
            "geo": "None", "trace_id": "trace_id", "span_id": "span_id",
            "template_id": "None", "is_error": "False", "service_meta": "{}",
            "attrs": "attrs", "parser": "parser", "parsed": "True"})
        emit("return event")

    def event_id_key() -> str:
        return containers.get(("event_id",)) or containers.setdefault(
            ("event_id",), const("event_id"))

    unordered: list[str] = []  # containers whose keys are checked by count
    fetched = set(fields.values())
    check("obj", obj, "", ())
    fetches = [f"v_{name} = {nodes[key_path[:-1]]}[{const(key_path[-1])}]"
               for name, key_path in fields.items()]
    if unordered:  # a key of such a container missing: another shape
        code[1:] = ["    " + line for line in code[1:]]
        code.insert(1, "    try:")
        for line in fetches:
            emit(line, 2)
        emit("except KeyError:")
        emit("return None", 2)
    else:
        for line in fetches:
            emit(line)
    if fields:  # a null where the plan expects a value: the walk decides
        emit(f"if {' or '.join(f'v_{name} is None' for name in fields)}:")
        emit("return None", 2)
    # the depth: when every value of the objects the shape checks is such an object or
    # of a flat type, the line is as deep as the shape and needs no bracket count. The
    # values of such a line have the types the sample's had: the body that follows
    # (typed) leaves out the checks of their types
    fetch_rest((), attrs)
    local_at = {key_path: f"v_{name}" for name, key_path in fields.items()}
    local_at.update((path, local) for path, (local, _) in kept.items())
    guard: list[str | None] = []
    for path, var in list(nodes.items()):
        for key, value in _at(obj, path).items():
            if (*path, key) in nodes:
                continue
            local = local_at.get((*path, key))
            if local is None:  # neither a field nor kept (a second alias of a field)
                local = local_at[(*path, key)] = f"x{len(local_at)}"
                emit(f"{local} = {var}[{const(key)}]")
            guard.append(_flat_guard(local, value))
    if None not in guard:
        emit("if " + "".join(f"{check} and " for check in guard)
             + f"ctx.max_json_depth >= {1 + max(map(len, nodes))}:")
        indent[0] = 1
        body({name: type(_at(obj, key_path)) for name, key_path in fields.items()})
        indent[0] = 0
    emit("_check_depth(text, obj, ctx.max_json_depth, parser)")
    body({})
    if len(constants) > _COMPILE_MAX_KEYS:
        return None
    return "\n".join(code) + "\n", constants


def _at(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at key ``path``."""
    value: Any = obj
    for key in path:
        value = value[key]
    return value


def _flat_guard(local: str, sample: Any) -> str | None:
    """A check that ``local`` is of the type of ``sample``, a flat type; None when
    ``sample`` is an object or a list."""
    if sample is None:
        return f"{local} is None"
    kind = type(sample)
    return f"type({local}) is {kind.__name__}" if kind in (str, int, float, bool) else None


def _keeps(attrs: Rest, path: tuple[str, ...]) -> bool:
    """Whether anything of the container at key ``path`` goes to attrs."""
    recipe: Rest | None = attrs
    for key in path:
        if recipe is None:  # kept whole
            return True
        recipe = next((below for name, below in recipe if name == key), _GONE)
        if recipe is _GONE:
            return False
    return True


_GONE: Any = object()  # _keeps(): not in the recipe


#: what compiled plans call (see _event for each)
_BUILDER_GLOBALS: dict[str, Any] = {
    "_iso_utc": epoch_from_iso_utc, "_MILLIS_FLOAT": _MILLIS_FLOAT,
    "_LAST_SECOND": _LAST_SECOND,
    "_timestamp": _timestamp, "_text": _text,
    "_number": _number, "_severity_number": severity_number,
    "_severity_text": severity_text, "_dumps": orjson.dumps, "_HttpInfo": HttpInfo,
    "_check_depth": _check_depth,
    "_LogEvent": LogEvent, "_ParseError": ParseError, "_BAD_FIELD": Reason.BAD_FIELD,
    "_SPELLED": _SPELLED, "_new": object.__new__, "_EXACT": 2 ** 53,
}


def _nothing(_: dict[str, Any]) -> tuple[Any, ...]:
    return ()


def _plan_walk(obj: dict[str, Any], found: dict[str, tuple[int, str, tuple[str, ...]]],
               prefix: str, keys: tuple[str, ...]) -> None:
    """``_collect`` with every value taken as not null, noting key paths."""
    for key, value in obj.items():
        path = prefix + key
        hit = _RANK.get(path)
        if hit is not None:
            name, rank = hit
            prev = found.get(name)
            if prev is None or rank < prev[0]:
                found[name] = (rank, path, (*keys, key))
        if path in _CONTAINERS and type(value) is dict:
            _plan_walk(value, found, path + ".", (*keys, key))


def _plan_rest(obj: dict[str, Any], consumed: set[str], heads: set[str],
               prefix: str) -> Rest:
    """``_prune`` as a recipe."""
    out: list[tuple[str, Rest | None]] = []
    for key, value in obj.items():
        path = prefix + key
        if path in consumed:
            continue
        if path in heads and type(value) is dict:
            rest = _plan_rest(value, consumed, heads, path + ".")
            if rest:
                out.append((key, rest))
        else:
            out.append((key, None))
    return tuple(out)


def _rest(obj: dict[str, Any], rest: Rest) -> dict[str, Any]:
    if not rest:
        return {}
    return {key: obj[key] if below is None else _rest(obj[key], below) for key, below in rest}


_SEEN_ONCE: Any = object()
_ABSENT = (None,)
_TOP: dict[tuple[str, ...], _Top] = {}  # or _SEEN_ONCE


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
