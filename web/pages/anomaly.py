"""``/alerts/anomaly`` (viewer) and its JSON twin ``GET /api/v1/anomaly``.

One service, one metric, one closed-window size over a time range: the metric per closed
window (MongoDB ``window_stats``, through the window store), the baseline a ``spike``
rule learned from those windows replayed in order through the rule itself
(``app.core.alerting.anomaly.replay_spike``), its band (centre ± z·spread) and the windows
it flags. The spike parameters start from a loaded spike rule (``rule=``) or the type's
defaults; every one of them can be overridden in the query, which is what the page's
threshold control does (it fetches the JSON twin and redraws, no reload).
"""

from __future__ import annotations

import logging
import time
from typing import Any, get_args

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View
from pydantic import ValidationError

from app.core.alerting.anomaly import TUNABLE, finite, replay_spike, spike_config
from app.core.alerting.types.spike import SpikeConfig, SpikeRule
from app.core.alerting.types.windowed import Metric
from app.core.tokens import Scope
from app.faust_app import app, settings
from web.auth import Role, require
from web.deps import authenticate, problem, window_store
from web.openapi import add_schema, json_response, problem_responses, query_param, register
from web.pages.alerts import spike_rules
from web.pages.setup import render
from web.pages.timerange import PRESETS, RangeError, iso, parse_range

log = logging.getLogger(__name__)
METRICS: tuple[str, ...] = get_args(Metric)
DEFAULT_RANGE = "1h"
MAX_WINDOWS = 5000  # closed windows one answer replays


class AnomalyError(ValueError):
    def __init__(self, param: str, reason: str, status: int = 400) -> None:
        self.param, self.reason, self.status = param, reason, status
        super().__init__(f"{param}: {reason}")


def _sizes() -> tuple[int, ...]:
    return tuple(sorted(settings.windows.service_sizes_s))


def _overrides(query: Any) -> dict[str, Any]:
    """The spike parameters given in the query (strings; pydantic converts them)."""
    out: dict[str, Any] = {}
    for name in TUNABLE:
        raw = query.get(name)
        if raw is not None and raw != "":
            out[name] = raw
    return out


def anomaly_request(query: Any, now: float) -> dict[str, Any]:
    """The validated query: service, metric, size, range, rule and spike config."""
    service = (query.get("service") or "").strip()
    if not service or len(service) > 200:
        raise AnomalyError("service", "a service name (1 to 200 characters)")
    rule_name = query.get("rule") or ""
    rule = None
    if rule_name:
        rule = spike_rules().get(rule_name)
        if rule is None:
            raise AnomalyError("rule", f"no loaded spike rule {rule_name!r}")
    kind = rule.kind if rule is not None else None
    assert kind is None or isinstance(kind, SpikeRule)
    base = kind.config if kind is not None else None
    assert base is None or isinstance(base, SpikeConfig)
    metric = query.get("metric") or (base.metric if base is not None else "count")
    if metric not in METRICS:
        raise AnomalyError("metric", f"one of {', '.join(METRICS)}")
    sizes = _sizes()
    raw_size = query.get("size") or ""
    if raw_size:
        try:
            size = int(raw_size)
        except ValueError:
            size = -1
    else:
        size = kind.granularity if kind is not None else sizes[0]
    if size not in sizes:
        raise AnomalyError("size", f"a closed-window size in seconds: "
                                   f"{', '.join(map(str, sizes))}")
    try:
        span = parse_range(query, now, DEFAULT_RANGE)
    except RangeError as exc:
        raise AnomalyError(exc.param, exc.reason) from None
    if span.span / size > MAX_WINDOWS:
        raise AnomalyError("from", f"at most {MAX_WINDOWS} windows of {size} s: a shorter "
                                   "range or a larger size")
    try:
        config = spike_config(base, {**_overrides(query), "metric": metric, "window": size})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "query"
        raise AnomalyError(name, first["msg"]) from None
    return {"service": service, "metric": metric, "size": size, "rule": rule,
            "range": span, "config": config}


async def anomaly_data(wanted: dict[str, Any]) -> dict[str, Any]:
    span, size, config = wanted["range"], wanted["size"], wanted["config"]
    windows = await window_store().find(wanted["service"], size, span.since, span.until)
    points = replay_spike(config, windows, size)
    params = {name: finite(getattr(config, name)) for name in TUNABLE}
    return {
        "service": wanted["service"], "metric": wanted["metric"], "size": size,
        "rule": wanted["rule"].name if wanted["rule"] is not None else None,
        "range": span.preset, "from": iso(span.since), "to": iso(span.until),
        "params": params, "windows": len(points),
        "flagged": sum(1 for p in points if p.flagged),
        "points": [p.to_doc() for p in points],
    }


def _json(body: Any) -> aioweb.Response:
    return aioweb.Response(body=orjson.dumps(body), content_type="application/json")


def _bad(exc: AnomalyError) -> aioweb.Response:
    return problem(exc.status, "Bad Request", f"invalid query parameter '{exc.param}': "
                                              f"{exc.reason}",
                   **{"invalid-params": [{"name": exc.param, "reason": exc.reason}]})


@app.page("/api/v1/anomaly")
class AnomalyApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        try:
            wanted = anomaly_request(request.query, time.time())
        except AnomalyError as exc:
            return _bad(exc)
        try:
            return _json(await anomaly_data(wanted))
        except Exception as exc:  # MongoDB away
            log.warning("anomaly: reading the windows failed: %r", exc)
            return problem(503, "Service Unavailable", f"reading the windows failed: {exc}")


async def _services() -> list[str]:
    try:
        found = await window_store().newest_per_service()
    except Exception as exc:
        log.warning("anomaly page: listing services failed: %r", exc)
        return []
    return sorted({str(d["service"]) for d in found})


@app.page("/alerts/anomaly")
class AnomalyPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.VIEWER)
        query = request.query
        services = await _services()
        rules = spike_rules()
        problems: list[str] = []
        data: dict[str, Any] | None = None
        chosen = dict(query)
        if not chosen.get("service") and services:
            chosen["service"] = services[0]
        if chosen.get("service"):
            try:
                wanted = anomaly_request(chosen, time.time())
                data = await anomaly_data(wanted)
            except AnomalyError as exc:
                problems.append(f"{exc.param}: {exc.reason}")
            except Exception as exc:
                log.warning("anomaly page: reading the windows failed: %r", exc)
                problems.append(f"the window statistics are not available: {exc}")
        else:
            problems.append("no service has closed windows yet")
        defaults = SpikeConfig()
        params = data["params"] if data is not None else \
            {name: getattr(defaults, name) for name in TUNABLE}
        context = {
            "data": data, "services": services, "service": chosen.get("service", ""),
            "metrics": METRICS, "metric": data["metric"] if data else query.get("metric", ""),
            "sizes": _sizes(), "size": data["size"] if data else query.get("size", ""),
            "ranges": list(PRESETS),
            "range": query.get("range") or ("" if query.get("from") else DEFAULT_RANGE),
            "from": query.get("from", ""), "to": query.get("to", ""),
            "rules": sorted(rules), "rule": data["rule"] if data else query.get("rule", ""),
            "params": params, "problems": problems,
        }
        return render(request, "anomaly.html", context, active="alerts")


# -- the API document -----------------------------------------------------------------

_number = {"type": "number", "nullable": True}
_point_ref = add_schema("BaselinePoint", {
    "type": "object",
    "required": ["start", "end", "events", "value", "centre", "spread", "z", "lower",
                 "upper", "learned", "warm", "flagged"],
    "properties": {
        "start": {"type": "number"}, "end": {"type": "number"},
        "events": {"type": "integer"}, "value": _number, "centre": _number,
        "spread": _number, "z": _number, "lower": _number, "upper": _number,
        "learned": {"type": "integer"}, "warm": {"type": "boolean"},
        "flagged": {"type": "boolean"},
    },
})
register("/api/v1/anomaly", "get", {
    "summary": "A metric per closed window of a service, with the spike baseline, its "
               "band and the windows it flags",
    "description": "The windows (MongoDB window_stats) are replayed in order through the "
                   "spike rule type with the given parameters, which start from the "
                   "loaded spike rule `rule` (or the type's defaults).",
    "parameters": [
        {**query_param("service", {"type": "string", "minLength": 1, "maxLength": 200}),
         "required": True},
        query_param("metric", {"type": "string", "enum": list(METRICS)},
                    "default: the rule's metric, or count"),
        query_param("size", {"type": "integer", "enum": list(_sizes())},
                    "closed-window size in seconds"),
        query_param("from", {"type": "string"}, "ISO 8601, epoch milliseconds or now-1h"),
        query_param("to", {"type": "string"}, "ISO 8601, epoch milliseconds or now"),
        query_param("range", {"type": "string", "enum": list(PRESETS)},
                    "instead of from/to (default 1h)"),
        query_param("rule", {"type": "string"}, "a loaded spike rule: its parameters"),
        query_param("z", {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                    "z-score that makes a spike"),
        query_param("baseline", {"type": "string", "enum": ["ewma", "median_mad"]}),
        query_param("alpha", {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                              "maximum": 1}),
        query_param("history", {"type": "integer", "minimum": 3, "maximum": 1000}),
        query_param("warm_up", {"type": "integer", "minimum": 1}),
        query_param("min_events", {"type": "integer", "minimum": 0}),
        query_param("direction", {"type": "string", "enum": ["up", "down", "both"]}),
        query_param("min_stddev", {"type": "number", "minimum": 0}),
        query_param("relative_floor", {"type": "number", "minimum": 0}),
        query_param("learn_while_anomalous", {"type": "boolean"}),
        query_param("status_class", {"type": "string", "pattern": "^[1-5]xx$"},
                    "for status_rate and status_count"),
    ],
    "responses": {"200": json_response({
        "type": "object",
        "required": ["service", "metric", "size", "rule", "from", "to", "params", "windows",
                     "flagged", "points"],
        "properties": {
            "service": {"type": "string"}, "metric": {"type": "string"},
            "size": {"type": "integer"}, "rule": {"type": "string", "nullable": True},
            "range": {"type": "string", "nullable": True},
            "from": {"type": "string"}, "to": {"type": "string"},
            "params": {"type": "object"}, "windows": {"type": "integer"},
            "flagged": {"type": "integer"},
            "points": {"type": "array", "items": {"$ref": _point_ref}},
        }}),
    } | problem_responses(400, 503),
})
