"""``/services``: the service registry's metadata (team, owner, tier, env), editable by
admins (CSRF form ``POST /services``, or ``PUT /api/v1/services/{name}/meta`` with
an admin token). Others read.

Services listed are those of the registry (MongoDB ``services``) and those with recent
windows (the Redis window cache). The parse agent reloads the registry every
``enrichment.registry_refresh_s``, so an edit reaches new events' ``service_meta`` then.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.core.enrichment.metadata import ServiceInfo
from app.core.events import iso_utc
from app.core.tokens import Scope
from app.faust_app import app
from web.auth import Role, require
from web.deps import (
    authenticate,
    bad_param,
    ok_json,
    problem,
    service_registry,
    window_cache,
)
from web.openapi import json_response, path_param, problem_responses, register
from web.pages.setup import render

log = logging.getLogger(__name__)
FIELDS = ("team", "owner", "tier", "env")
MAX_VALUE = 100
MAX_NAME = 200


def info_json(info: ServiceInfo) -> dict[str, Any]:
    return {"service": info.service, **{k: getattr(info, k) for k in FIELDS},
            "updated_at": iso_utc(info.updated_at) if info.updated_at else None}


def meta_from(body: Any) -> dict[str, str | None] | tuple[str, str]:
    """The fields of ``body`` (blank: unset), or ``(field, why)`` when one is invalid."""
    if not isinstance(body, dict):
        return "body", "a JSON object"
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        return unknown[0], f"unknown field; known: {', '.join(FIELDS)}"
    meta: dict[str, str | None] = {}
    for key in FIELDS:
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_VALUE):
            return key, f"a text of at most {MAX_VALUE} characters, or null"
        meta[key] = (value.strip() or None) if isinstance(value, str) else None
    return meta


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and name.isprintable()


async def list_services() -> tuple[list[dict[str, Any]], list[str]]:
    problems: list[str] = []
    registry: dict[str, ServiceInfo] = {}
    try:
        registry = await service_registry().load()
    except Exception as exc:
        problems.append(f"the service registry is not available: {exc}")
    seen: list[str] = []
    try:
        seen = await window_cache().services()
    except Exception as exc:
        problems.append(f"services with recent windows are not available: {exc}")
    rows = [info_json(registry.get(name) or ServiceInfo(name)) | {
        "registered": name in registry, "recent_windows": name in seen}
        for name in sorted(set(registry) | set(seen))]
    return rows, problems


async def save(name: str, meta: dict[str, str | None]) -> ServiceInfo:
    info = ServiceInfo(name, team=meta["team"], owner=meta["owner"], tier=meta["tier"],
                       env=meta["env"])
    await service_registry().upsert(info)
    saved = (await service_registry().load()).get(name)
    return saved or info


@app.page("/api/v1/services/{name}/meta")
class ServiceMetaApi(View):
    async def put(self, request: Request, name: str) -> aioweb.Response:
        principal = await authenticate(request, Scope.ADMIN)
        if isinstance(principal, aioweb.Response):
            return principal
        if not _valid_name(name):
            return bad_param("name", f"1 to {MAX_NAME} printable characters")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
        meta = meta_from(body)
        if isinstance(meta, tuple):
            return bad_param(*meta)
        try:
            info = await save(name, meta)
        except Exception as exc:
            log.warning("services: saving %r failed: %r", name, exc)
            return problem(503, "Service Unavailable", f"saving failed: {exc}")
        log.info("service %s metadata set by %s: %s", name, principal.name, meta)
        return ok_json(info_json(info))


@app.page("/services")
class ServicesPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        principal = require(request, Role.VIEWER)
        rows, problems = await list_services()
        return render(request, "services.html", {
            "services": rows, "problems": problems, "fields": FIELDS,
            "can_edit": principal.has(Role.ADMIN),
            "notice": request.query.get("done", ""),
            "form_error": request.query.get("error", "")}, active="services")


    async def post(self, request: Request) -> aioweb.Response:
        """An admin's edit of one service (CSRF checked by ``web.auth``); redirects back."""
        principal = require(request, Role.ADMIN)
        form = await request.post()
        name = str(form.get("service", "")).strip()
        meta = meta_from({k: str(form.get(k, "")) for k in FIELDS})
        if isinstance(meta, tuple) or not _valid_name(name):
            why = f"{meta[0]}: {meta[1]}" if isinstance(meta, tuple) else "invalid name"
            raise aioweb.HTTPSeeOther("/services?" + urlencode({"error": why}))
        await save(name, meta)
        log.info("service %s metadata set by %s: %s", name, principal.name, meta)
        raise aioweb.HTTPSeeOther("/services?" + urlencode({"done": f"{name} saved"}))


_nullable = {"type": "string", "nullable": True, "maxLength": MAX_VALUE}
register("/api/v1/services/{name}/meta", "put", {
    "summary": "Set a service's registry metadata (admin); blank or null unsets a field",
    "parameters": [path_param("name", {"type": "string", "minLength": 1,
                                       "maxLength": MAX_NAME})],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False,
        "properties": {k: _nullable for k in FIELDS}}}}},
    "responses": {"200": json_response({
        "type": "object", "required": ["service", *FIELDS, "updated_at"],
        "properties": {"service": {"type": "string"},
                       **{k: {"type": "string", "nullable": True} for k in FIELDS},
                       "updated_at": {"type": "string", "nullable": True}}}, "Saved"),
    } | problem_responses(400, 404, 503),
})
