"""API token management for admins: JSON API and a small page.

``GET /api/v1/tokens`` lists tokens (never the secret), ``POST /api/v1/tokens``
``{"name": ..., "scopes": [...]}`` creates one and returns it once (201),
``DELETE /api/v1/tokens/{name}`` revokes it (204). ``/admin/tokens`` is the same for a
browser: the list, a create form (the new token is shown once) and revoke buttons,
CSRF-protected like every session POST. Admin role (or an ``admin``-scope token) only.
"""

from __future__ import annotations

import html
import re
from typing import Any

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.adapters.tokens import TokenExists
from app.core.tokens import Scope, TokenRecord
from app.faust_app import app
from web.auth import CSRF_FIELD, Role, csrf_token, require
from web.auth.middleware import html_page
from web.deps import problem, token_store
from web.openapi import add_schema, json_response, path_param, problem_responses, register

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def token_json(record: TokenRecord) -> dict[str, Any]:
    return {"name": record.name, "scopes": sorted(s.value for s in record.scopes),
            "created_at": record.created_at, "revoked_at": record.revoked_at}


def _validate(name: Any, scopes: Any) -> tuple[str, set[Scope]] | str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        return "name: 1-64 letters, digits, '_', '.', '-' (starting with a letter or digit)"
    if not isinstance(scopes, list) or not scopes \
            or not all(isinstance(s, str) and s in Scope.__members__.values() for s in scopes):
        return f"scopes: a non-empty list of {', '.join(s.value for s in Scope)}"
    return name, {Scope(s) for s in scopes}


@app.page("/api/v1/tokens")
class TokensView(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.ADMIN)
        records = await token_store().list()
        return aioweb.Response(body=orjson.dumps({"tokens": [token_json(r) for r in records]}),
                               content_type="application/json")

    async def post(self, request: Request) -> aioweb.Response:
        require(request, Role.ADMIN)
        aio: aioweb.Request = request  # type: ignore[assignment]  # aiohttp's
        try:
            body = orjson.loads(await aio.read())
        except orjson.JSONDecodeError:
            return problem(400, "Bad Request", "the body is not JSON")
        if not isinstance(body, dict):
            return problem(400, "Bad Request", "the body is not a JSON object")
        checked = _validate(body.get("name"), body.get("scopes"))
        if isinstance(checked, str):
            return problem(400, "Bad Request", checked)
        name, scopes = checked
        try:
            token = await token_store().create(name, scopes)
        except TokenExists as exc:
            return problem(409, "Conflict", str(exc))
        payload = {"name": name, "scopes": sorted(s.value for s in scopes), "token": token}
        return aioweb.Response(body=orjson.dumps(payload), status=201,
                               content_type="application/json")


@app.page("/api/v1/tokens/{name}")
class TokenView(View):
    async def delete(self, request: Request, name: str) -> aioweb.Response:
        require(request, Role.ADMIN)
        if not await token_store().revoke(name):
            return problem(404, "Not Found", f"no active token named {name!r}")
        return aioweb.Response(status=204)


def _page(request: Any, records: list[TokenRecord], created: tuple[str, str] | None = None,
          error: str | None = None) -> aioweb.Response:
    csrf = html.escape(csrf_token(request))
    hidden = f'<input type="hidden" name="{CSRF_FIELD}" value="{csrf}">'
    rows = "".join(
        f"<tr><td>{html.escape(r.name)}</td><td>{html.escape(', '.join(sorted(r.scopes)))}</td>"
        f"<td>{'revoked' if r.revoked_at else 'active'}</td><td>"
        + ("" if r.revoked_at else
           f'<form method="post" action="/admin/tokens/{html.escape(r.name)}/revoke">'
           f'{hidden}<button type="submit">Revoke</button></form>')
        + "</td></tr>" for r in records)
    shown = ""
    if created:
        shown = (f'<p class="token-created">Token <b>{html.escape(created[0])}</b> (shown '
                 f"once, copy it now): <code id=\"new-token\">{html.escape(created[1])}</code></p>")
    failed = f'<p class="error">{html.escape(error)}</p>' if error else ""
    boxes = "".join(f'<label><input type="checkbox" name="scopes" value="{s.value}"> '
                    f"{s.value}</label> " for s in Scope)
    body = (f"{shown}{failed}<table><thead><tr><th>name</th><th>scopes</th><th>state</th>"
            f"<th></th></tr></thead><tbody>{rows}</tbody></table>"
            f'<h2>New token</h2><form method="post" action="/admin/tokens">{hidden}'
            f'<label>name <input name="name" required></label> {boxes}'
            f'<button type="submit">Create</button></form>')
    return html_page(400 if error else 200, "API tokens", body)


@app.page("/admin/tokens")
class TokensPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.ADMIN)
        return _page(request, await token_store().list())

    async def post(self, request: Request) -> aioweb.Response:
        require(request, Role.ADMIN)
        aio: aioweb.Request = request  # type: ignore[assignment]  # aiohttp's
        form = await aio.post()
        checked = _validate(form.get("name"), [str(v) for v in form.getall("scopes", [])])
        if isinstance(checked, str):
            return _page(request, await token_store().list(), error=checked)
        try:
            token = await token_store().create(*checked)
        except TokenExists as exc:
            return _page(request, await token_store().list(), error=str(exc))
        return _page(request, await token_store().list(), created=(checked[0], token))


@app.page("/admin/tokens/{name}/revoke")
class RevokePage(View):
    async def post(self, request: Request, name: str) -> aioweb.Response:
        require(request, Role.ADMIN)
        await token_store().revoke(name)
        return aioweb.Response(status=303, headers={"Location": "/admin/tokens"})


_token_ref = add_schema("Token", {
    "type": "object", "required": ["name", "scopes", "created_at", "revoked_at"],
    "properties": {
        "name": {"type": "string"},
        "scopes": {"type": "array", "items": {"enum": [s.value for s in Scope]}},
        "created_at": {"type": "number"},
        "revoked_at": {"type": "number", "nullable": True},
    }})
register("/api/v1/tokens", "get", {
    "summary": "API tokens (admin)",
    "responses": {"200": json_response({
        "type": "object", "required": ["tokens"],
        "properties": {"tokens": {"type": "array", "items": {"$ref": _token_ref}}}})},
})
register("/api/v1/tokens", "post", {
    "summary": "Create an API token (admin); the token is in this response only",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name", "scopes"],
        "properties": {
            "name": {"type": "string", "pattern": NAME_RE.pattern},
            "scopes": {"type": "array", "minItems": 1,
                       "items": {"enum": [s.value for s in Scope]}},
        }}}}},
    "responses": {"201": json_response({
        "type": "object", "required": ["name", "scopes", "token"],
        "properties": {"name": {"type": "string"},
                       "scopes": {"type": "array", "items": {"type": "string"}},
                       "token": {"type": "string"}}}, "Created"),
    } | problem_responses(400, 409),
})
register("/api/v1/tokens/{name}", "delete", {
    "summary": "Revoke an API token (admin)",
    "parameters": [path_param("name")],
    "responses": {"204": {"description": "Revoked"}} | problem_responses(404),
})
