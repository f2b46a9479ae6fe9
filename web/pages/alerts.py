"""``/alerts`` (the page, its ack and silence forms) and the alerts JSON API.

- ``GET /api/v1/alerts`` (``?history=1`` adds the newest transitions),
  ``GET /api/v1/alerts/history``: read scope or a session;
- ``GET|POST /api/v1/silences``, ``DELETE /api/v1/silences/{id}``,
  ``POST /api/v1/alerts/{fingerprint}/ack``: listing needs read, changing needs the
  operator role (or an admin token).

Where the state comes from is in ``web.pages.alerts_model``: active alerts are the
fingerprints whose newest transition in MongoDB goes to pending or firing; silences and
acks are read from ``alerts.silences`` (their source of record) and written to it
(``app.adapters.silences``), so every worker's alerts agent folds them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, NoReturn
from urllib.parse import urlencode

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.adapters.rule_files import load_rule_paths
from app.adapters.search import SearchError
from app.adapters.silences import expire_silence, publish_ack, publish_silence, read_mutes
from app.core.alerting.loading import RuleLoadError
from app.core.alerting.models import Rule, RuleSet
from app.core.alerting.notices import search_query, search_url
from app.core.alerting.silences import Ack, Mutes, Silence
from app.core.alerting.types.spike import SpikeRule
from app.core.query import QueryError, parse
from app.core.query.to_es import to_es
from app.core.tokens import Scope
from app.faust_app import app, settings
from web.auth import Principal, Role, require
from web.deps import alert_store, authenticate, problem
from web.openapi import (
    add_schema,
    json_response,
    path_param,
    problem_responses,
    query_param,
    register,
)
from web.pages.alerts_model import (
    SilenceRequest,
    SilenceRequestError,
    current_alerts,
    rule_rows,
    silence_request,
    silences_json,
    transition_json,
)
from web.pages.clients import search_backend
from web.pages.setup import render

log = logging.getLogger(__name__)
HISTORY_LIMIT = 100
MAX_HISTORY = 1000
EVIDENCE_FOR = 10  # the page looks up sample lines for this many alerts
_rules: dict[str, RuleSet | str] = {}


def loaded_rules() -> RuleSet | str:
    """The rule files of ``alerting.rules_dir`` (read once), or why they do not load."""
    if "rules" not in _rules:
        try:
            _rules["rules"] = load_rule_paths([settings.alerting.rules_dir],
                                              settings.windows.service_sizes_s)
        except RuleLoadError as exc:
            _rules["rules"] = str(exc)
    return _rules["rules"]


def spike_rules() -> dict[str, Rule]:
    """The loaded rules of type ``spike``, by name (the anomaly view replays them)."""
    rules = loaded_rules()
    if not isinstance(rules, RuleSet):
        return {}
    return {r.name: r for r in rules.rules if isinstance(r.kind, SpikeRule)}


def _ruleset() -> RuleSet | None:
    rules = loaded_rules()
    return rules if isinstance(rules, RuleSet) else None


async def _mutes() -> Mutes:
    return await read_mutes(settings)


async def alerts_state(now: float) -> tuple[list[dict[str, Any]], Mutes]:
    latest, mutes = await asyncio.gather(alert_store().latest_per_alert(), _mutes())
    return current_alerts(latest, mutes, now, _ruleset()), mutes


def _json(body: Any, status: int = 200) -> aioweb.Response:
    return aioweb.Response(body=orjson.dumps(body), status=status,
                           content_type="application/json")


def _bad(name: str, reason: str) -> aioweb.Response:
    return problem(400, "Bad Request", f"invalid {name}: {reason}",
                   **{"invalid-params": [{"name": name, "reason": reason}]})


def _unavailable(what: str, exc: Exception) -> aioweb.Response:
    log.warning("alerts: %s failed: %r", what, exc)
    return problem(503, "Service Unavailable", f"{what} failed: {exc}")


def _may_change(principal: Principal) -> bool:
    """Operators (sessions) and admin tokens may silence and acknowledge."""
    return principal.has(Role.OPERATOR) or (principal.via == "token"
                                           and Scope.ADMIN in principal.scopes)


async def _operator(request: Any) -> Principal | aioweb.Response:
    principal = await authenticate(request, Scope.READ)
    if isinstance(principal, aioweb.Response):
        return principal
    if not _may_change(principal):
        return problem(403, "Forbidden", "silencing and acknowledging need the operator role "
                                         "(or an admin token)")
    return principal


async def _body(request: Any) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return None


def _flag(request: Any, name: str, default: bool) -> bool | None:
    """A ``0``/``1`` (``false``/``true``) query parameter; ``None`` if it is neither."""
    raw = request.query.get(name, "")
    return {"": default, "0": False, "false": False, "1": True, "true": True}.get(raw)


def _limit(request: Any) -> int | None:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return HISTORY_LIMIT
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= MAX_HISTORY else None


async def create_silence(wanted: SilenceRequest, principal: Principal, now: float) -> Silence:
    silence = Silence.new(wanted.matchers, starts_at=wanted.starts_at, ends_at=wanted.ends_at,
                          created_by=principal.name or principal.subject,
                          comment=wanted.comment, created_at=now)
    await publish_silence(settings, silence)
    return silence


async def ack_alert(fingerprint: str, activation: int | None, comment: str,
                    principal: Principal, now: float) -> Ack | None:
    """Acknowledge the alert's current activation (or ``activation``); ``None``: no such
    active alert."""
    docs = await alert_store().transitions(fingerprint=fingerprint, limit=MAX_HISTORY)
    active = [d for d in docs if d.get("to") in ("pending", "firing")]
    if not active:
        return None
    current = max(int(d.get("activation") or 0) for d in active)
    if activation is not None and activation not in {int(d.get("activation") or 0)
                                                     for d in active}:
        return None
    ack = Ack(fingerprint, current if activation is None else activation,
              principal.name or principal.subject, comment, now)
    await publish_ack(settings, ack)
    return ack


# -- the JSON API ---------------------------------------------------------------------

@app.page("/api/v1/alerts")
class AlertsApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        history = _flag(request, "history", False)
        if history is None:
            return _bad("history", "1 or 0")
        now = time.time()
        try:
            alerts, _ = await alerts_state(now)
            body: dict[str, Any] = {"alerts": alerts, "generated_at": now}
            if history:
                body["history"] = [transition_json(d) for d in
                                   await alert_store().recent_transitions(limit=HISTORY_LIMIT)]
        except Exception as exc:  # MongoDB or Kafka away
            return _unavailable("reading the alerts", exc)
        return _json(body)


@app.page("/api/v1/alerts/history")
class AlertHistoryApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        limit = _limit(request)
        if limit is None:
            return _bad("limit", f"an integer from 1 to {MAX_HISTORY}")
        try:
            docs = await alert_store().recent_transitions(limit=limit)
        except Exception as exc:
            return _unavailable("reading the alert history", exc)
        return _json({"transitions": [transition_json(d) for d in docs]})


@app.page("/api/v1/alerts/{fingerprint}/ack")
class AckApi(View):
    async def post(self, request: Request, fingerprint: str) -> aioweb.Response:
        principal = await _operator(request)
        if isinstance(principal, aioweb.Response):
            return principal
        body = await _body(request)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return _bad("body", "a JSON object")
        activation = body.get("activation")
        if activation is not None and (isinstance(activation, bool)
                                       or not isinstance(activation, int)):
            return _bad("activation", "an integer")
        comment = body.get("comment", "")
        if not isinstance(comment, str) or len(comment) > 1000:
            return _bad("comment", "a text of at most 1000 characters")
        try:
            ack = await ack_alert(fingerprint, activation, comment, principal, time.time())
        except Exception as exc:
            return _unavailable("acknowledging", exc)
        if ack is None:
            return problem(404, "Not Found", f"no active alert {fingerprint!r}"
                           + (f" with activation {activation}" if activation is not None
                              else ""))
        return _json(ack.to_doc(), 201)


@app.page("/api/v1/silences")
class SilencesApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        expired = _flag(request, "expired", True)
        if expired is None:
            return _bad("expired", "1 or 0")
        try:
            mutes = await _mutes()
        except Exception as exc:
            return _unavailable("reading the silences", exc)
        return _json({"silences": silences_json(mutes, time.time(),
                                                expired=expired)})

    async def post(self, request: Request) -> aioweb.Response:
        principal = await _operator(request)
        if isinstance(principal, aioweb.Response):
            return principal
        now = time.time()
        try:
            wanted = silence_request(await _body(request), now)
        except SilenceRequestError as exc:
            return _bad(exc.field, exc.reason)
        try:
            silence = await create_silence(wanted, principal, now)
        except ValueError as exc:  # a matcher that does not parse
            return _bad("matchers", str(exc))
        except Exception as exc:
            return _unavailable("publishing the silence", exc)
        return _json(silences_json(Mutes(silences={silence.id: silence}), now)[0], 201)


@app.page("/api/v1/silences/{silence_id}")
class SilenceApi(View):
    async def delete(self, request: Request, silence_id: str) -> aioweb.Response:
        principal = await _operator(request)
        if isinstance(principal, aioweb.Response):
            return principal
        now = time.time()
        try:
            expired = await expire_silence(settings, silence_id, now)
        except Exception as exc:
            return _unavailable("expiring the silence", exc)
        if expired is None:
            return problem(404, "Not Found", f"no silence {silence_id!r}")
        return _json(silences_json(Mutes(silences={expired.id: expired}), now)[0])


# -- the page -------------------------------------------------------------------------

async def _evidence(alert: dict[str, Any], rules: RuleSet | None, now: float) -> None:
    """The search link, and (unless the alert carries evidence) sample lines and top
    contributors from Elasticsearch over the alert's span."""
    rule = rules.by_name.get(alert["rule"]) if rules is not None else None
    if rule is None:
        return
    query = search_query(rule, alert["group_labels"])
    start = float(alert["window"]["start"]) if alert["window"] else float(alert["since"] or now)
    alert["search_url"] = search_url("", query, start - 60, now + 60)
    alert["search_query"] = query
    if alert["evidence"]:
        return
    try:
        found = await search_backend().search(to_es(parse(query)), start - 60, now, size=5)
    except (SearchError, QueryError) as exc:
        alert["evidence_error"] = str(exc)
        return
    alert["evidence"] = {
        "samples": [f"{h['source'].get('ts', '')} {h['source'].get('service', '')} "
                    f"{h['source'].get('severity_text', '') or '-'} "
                    f"{h['source'].get('message', '')}"[:500] for h in found.hits],
        "top": {name: values[:5] for name, values in found.facets.items() if values},
        "matching": found.total,
    }


def _form_error(message: str) -> NoReturn:
    """Back to the page, which shows ``message`` next to the forms."""
    raise aioweb.HTTPSeeOther(f"/alerts?{_q('error', message)}#forms")


def _q(name: str, value: str) -> str:
    return urlencode({name: value[:300]})


@app.page("/alerts")
class AlertsPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        principal = require(request, Role.VIEWER)
        now = time.time()
        rules = loaded_rules()
        ruleset = rules if isinstance(rules, RuleSet) else None
        problems: list[str] = [] if ruleset is not None else [f"alert rules: {rules}"]
        alerts: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        mutes = Mutes()
        try:
            alerts, mutes = await alerts_state(now)
            history = [transition_json(d) for d in
                       await alert_store().recent_transitions(limit=HISTORY_LIMIT)]
        except Exception as exc:
            log.warning("alerts page: reading the state failed: %r", exc)
            problems.append(f"the alert state is not available: {exc}")
        await asyncio.gather(*(_evidence(a, ruleset, now) for a in alerts[:EVIDENCE_FOR]))
        query = request.query
        context = {
            "alerts": alerts, "history": history,
            "silences": silences_json(mutes, now),
            "rules": rule_rows(ruleset, alerts) if ruleset is not None else [],
            "can_change": _may_change(principal), "problems": problems,
            "notice": query.get("done", ""), "form_error": query.get("error", ""),
            "prefill": query.get("matchers", ""),
            "spike_rules": set(spike_rules()),
        }
        return render(request, "alerts.html", context, active="alerts")


@app.page("/alerts/silences")
class SilenceForm(View):
    """The page's silence form (CSRF checked by ``web.auth``); answers with a redirect."""

    async def post(self, request: Request) -> aioweb.Response:
        principal = require(request, Role.OPERATOR)
        form = await request.post()
        now = time.time()
        body = {"matchers": str(form.get("matchers", "")), "comment": str(form.get("comment", "")),
                "duration": str(form.get("duration", "")) or None}
        try:
            silence = await create_silence(silence_request(body, now), principal, now)
        except ValueError as exc:  # SilenceRequestError or a matcher that does not parse
            _form_error(str(exc))
        raise aioweb.HTTPSeeOther(f"/alerts?{_q('done', f'silence {silence.id} created')}"
                                  "#silences")


@app.page("/alerts/silences/{silence_id}/expire")
class ExpireForm(View):
    async def post(self, request: Request, silence_id: str) -> aioweb.Response:
        require(request, Role.OPERATOR)
        if await expire_silence(settings, silence_id, time.time()) is None:
            _form_error(f"no silence {silence_id}")
        raise aioweb.HTTPSeeOther(f"/alerts?{_q('done', f'silence {silence_id} expired')}"
                                  "#silences")


@app.page("/alerts/ack")
class AckForm(View):
    async def post(self, request: Request) -> aioweb.Response:
        principal = require(request, Role.OPERATOR)
        form = await request.post()
        fingerprint = str(form.get("fingerprint", ""))
        try:
            activation = int(str(form.get("activation", "")))
        except ValueError:
            _form_error("activation: an integer")
        ack = await ack_alert(fingerprint, activation, str(form.get("comment", ""))[:1000],
                              principal, time.time())
        if ack is None:
            _form_error(f"no active alert {fingerprint}")
        raise aioweb.HTTPSeeOther(f"/alerts?{_q('done', f'alert {fingerprint} acknowledged')}")


# -- the API document -----------------------------------------------------------------

_number = {"type": "number", "nullable": True}
_alert_ref = add_schema("Alert", {
    "type": "object",
    "required": ["fingerprint", "rule", "state", "activation", "labels", "since"],
    "properties": {
        "fingerprint": {"type": "string"}, "rule": {"type": "string"},
        "state": {"enum": ["pending", "firing"]}, "activation": {"type": "integer"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "group_labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "value": _number, "threshold": _number, "peak": _number,
        "comparison": {"type": "string"},
        "baseline": {"type": "object", "nullable": True},
        "window": {"type": "object", "nullable": True},
        "since": _number, "since_iso": {"type": "string", "nullable": True},
        "updated_at": _number,
        "annotations": {"type": "object"},
        "evidence": {"type": "object", "nullable": True},
        "silenced_by": {"type": "string", "nullable": True},
        "acked_by": {"type": "string", "nullable": True},
    },
})
_transition_ref = add_schema("AlertTransition", {
    "type": "object", "required": ["id", "rule", "fingerprint", "activation", "from", "to", "at"],
    "properties": {
        "id": {"type": "string"}, "rule": {"type": "string"},
        "fingerprint": {"type": "string"}, "activation": {"type": "integer"},
        "from": {"type": "string"}, "to": {"type": "string"}, "at": {"type": "number"},
        "labels": {"type": "object"},
    },
})
_silence_ref = add_schema("Silence", {
    "type": "object",
    "required": ["id", "matchers", "starts_at", "ends_at", "created_by", "comment", "state"],
    "properties": {
        "id": {"type": "string"}, "matchers": {"type": "array", "items": {"type": "string"}},
        "starts_at": {"type": "number"}, "ends_at": {"type": "number"},
        "created_by": {"type": "string"}, "comment": {"type": "string"},
        "created_at": {"type": "number"}, "state": {"enum": ["active", "pending", "expired"]},
    },
})
_flag_schema = {"type": "string", "enum": ["0", "1", "true", "false"]}

register("/api/v1/alerts", "get", {
    "summary": "Active (pending and firing) alerts, from the newest transition per alert",
    "parameters": [query_param("history", _flag_schema, "1: also the newest transitions")],
    "responses": {"200": json_response({
        "type": "object", "required": ["alerts", "generated_at"],
        "properties": {"alerts": {"type": "array", "items": {"$ref": _alert_ref}},
                       "generated_at": {"type": "number"},
                       "history": {"type": "array", "items": {"$ref": _transition_ref}}}}),
    } | problem_responses(400, 503),
})
register("/api/v1/alerts/history", "get", {
    "summary": "Alert transitions, newest first (MongoDB alert_transitions)",
    "parameters": [query_param("limit", {"type": "integer", "minimum": 1,
                                         "maximum": MAX_HISTORY})],
    "responses": {"200": json_response({
        "type": "object", "required": ["transitions"],
        "properties": {"transitions": {"type": "array", "items": {"$ref": _transition_ref}}}}),
    } | problem_responses(400, 503),
})
register("/api/v1/alerts/{fingerprint}/ack", "post", {
    "summary": "Acknowledge an active alert's activation (operator or admin token)",
    "parameters": [path_param("fingerprint")],
    "requestBody": {"required": False, "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {"activation": {"type": "integer"},
                       "comment": {"type": "string", "maxLength": 1000}}}}}},
    "responses": {"201": json_response({"type": "object", "required": ["id", "fingerprint"]},
                                       "Acknowledged"),
                  } | problem_responses(400, 404, 503),
})
register("/api/v1/silences", "get", {
    "summary": "Silences (active and pending first), from the alerts.silences topic",
    "parameters": [query_param("expired", _flag_schema, "0: leave out expired silences")],
    "responses": {"200": json_response({
        "type": "object", "required": ["silences"],
        "properties": {"silences": {"type": "array", "items": {"$ref": _silence_ref}}}}),
    } | problem_responses(400, 503),
})
register("/api/v1/silences", "post", {
    "summary": "Create a silence (operator or admin token); the creator is the caller",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["matchers"],
        "properties": {
            "matchers": {"type": "array", "minItems": 1, "maxItems": 20,
                         "items": {"type": "string"},
                         "description": "name=value, name!=value, name=~regex, name!~regex"},
            "starts_at": {"type": "number", "description": "epoch seconds (default now)"},
            "ends_at": {"type": "number", "description": "epoch seconds"},
            "duration": {"type": "string", "description": "instead of ends_at: 30m, 2h"},
            "comment": {"type": "string", "maxLength": 1000},
        }}}}},
    "responses": {"201": json_response({"$ref": _silence_ref}, "Created")}
    | problem_responses(400, 503),
})
register("/api/v1/silences/{silence_id}", "delete", {
    "summary": "Expire a silence now (operator or admin token)",
    "parameters": [path_param("silence_id")],
    "responses": {"200": json_response({"$ref": _silence_ref}, "Expired")}
    | problem_responses(404, 503),
})
