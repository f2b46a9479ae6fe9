"""The JSON API's OpenAPI document, served at ``GET /api/v1/openapi.json``.

Views describe their own operations where they are defined::

    from web.openapi import register, problem_responses
    register("/api/v1/things/{name}", "get", {
        "summary": "One thing",
        "parameters": [path_param("name")],
        "responses": {"200": json_response({"type": "object"})} | problem_responses(404),
    })

Paths are the full paths as served. Every operation needs authentication (an API token
as ``Authorization: Bearer``, or a browser session), and every error is a problem
document (RFC 9457, ``#/components/schemas/Problem``); ``register`` adds the 401/403
answers to each operation.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.faust_app import app

OPENAPI_PATH = "/api/v1/openapi.json"
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "invalid-params": {"type": "array", "items": {"type": "object"}},
    },
}
STATUS_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type",
                 503: "Service Unavailable"}

_paths: dict[str, dict[str, Any]] = {}
_schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}


def register(path: str, method: str, spec: dict[str, Any]) -> None:
    """Describe operation ``method`` of ``path`` (an OpenAPI operation object)."""
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"unknown HTTP method {method!r}")
    operations = _paths.setdefault(path, {})
    if method in operations:
        raise ValueError(f"{method.upper()} {path} is registered twice")
    operation = copy.deepcopy(spec)
    operation.setdefault("operationId", f"{method}_{path.strip('/').replace('/', '_')}"
                         .replace("{", "").replace("}", "").replace(".", "_"))
    operation.setdefault("security", [{"bearer": []}, {"session": []}])
    operation["responses"] = problem_responses(401, 403) | operation.get("responses", {})
    operations[method] = operation


def add_schema(name: str, schema: dict[str, Any]) -> str:
    """A named schema under ``components/schemas``; returns its ``$ref``."""
    _schemas[name] = copy.deepcopy(schema)
    return f"#/components/schemas/{name}"


def problem_responses(*statuses: int) -> dict[str, Any]:
    return {str(status): {
        "description": STATUS_TITLES.get(status, "Error"),
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}},
    } for status in statuses}


def json_response(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": schema or {"type": "string", "minLength": 1}}


def query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "logwarden API", "version": "1",
                 "description": "Log search, window summaries, alerts and API tokens. "
                                "Errors are RFC 9457 problem documents."},
        "paths": {path: dict(sorted(ops.items())) for path, ops in sorted(_paths.items())},
        "components": {
            "schemas": dict(sorted(_schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token (logwarden tokens create)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "logwarden_session"},
            },
        },
    }


@app.page(OPENAPI_PATH)
class OpenApiView(View):
    async def get(self, request: Request) -> aioweb.Response:
        return aioweb.Response(body=orjson.dumps(document()), content_type="application/json")


# ------------------------------------------------------------------ the views that predate
# this module (``web/summary.py``, ``web/ingest.py``, ``web/auth``) are described here.

register("/api/v1/me", "get", {
    "summary": "Who am I: the authenticated principal and the session's CSRF token",
    "responses": {"200": json_response({
        "type": "object",
        "required": ["subject", "name", "roles", "scopes", "via", "csrf_token"],
        "properties": {
            "subject": {"type": "string"}, "name": {"type": "string"},
            "email": {"type": "string", "nullable": True},
            "roles": {"type": "array", "items": {"enum": ["viewer", "operator", "admin"]}},
            "role": {"type": "string", "nullable": True,
                     "enum": ["viewer", "operator", "admin", None]},
            "scopes": {"type": "array", "items": {"enum": ["ingest", "read", "admin"]}},
            "via": {"enum": ["session", "token"]},
            "csrf_token": {"type": "string"},
        }})},
})

register("/api/v1/services", "get", {
    "summary": "Services with recent windows (from the Redis cache)",
    "responses": {"200": json_response({
        "type": "object", "required": ["services"],
        "properties": {"services": {"type": "array", "items": {"type": "string"}}}}),
    } | problem_responses(503),
})

register("/api/v1/services/{service}/summary", "get", {
    "summary": "The newest closed window of a service and the N most recent ones",
    "parameters": [
        path_param("service"),
        query_param("granularity", {"type": "integer"}, "a service window size in seconds"),
        query_param("windows", {"type": "integer", "minimum": 1, "maximum": 1000},
                    "how many recent windows"),
    ],
    "responses": {"200": json_response({
        "type": "object",
        "required": ["service", "granularity_s", "source", "current", "windows"],
        "properties": {
            "service": {"type": "string"}, "granularity_s": {"type": "integer"},
            "source": {"enum": ["cache", "store"]},
            "current": {"type": "object"},
            "windows": {"type": "array", "items": {"type": "object"}},
        }}),
    } | problem_responses(400, 404, 503),
})

register(OPENAPI_PATH, "get", {
    "summary": "This document",
    "responses": {"200": json_response({"type": "object"})},
})

register("/api/v1/logs", "post", {
    "summary": "Ingest log records (API token with the ingest scope)",
    "description": "The body is a JSON array of records (strings or objects), one JSON "
                   "value, or newline-delimited records. Answers 202 once Kafka holds them.",
    "security": [{"bearer": []}],
    "parameters": [
        query_param("format", {"type": "string"}, "declared format of every record"),
        query_param("service", {"type": "string"}, "service of every record"),
        query_param("source", {"type": "string"}, "source name (default: the token's)"),
    ],
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}},
    }},
    "responses": {"202": json_response({
        "type": "object", "required": ["records", "accepted", "dead_lettered"],
        "properties": {
            "records": {"type": "integer"}, "accepted": {"type": "integer"},
            "dead_lettered": {"type": "array", "items": {"type": "object"}},
        }}, "Accepted"),
    } | problem_responses(400, 413, 415, 503),
})

register("/api/v1/logs", "get", {
    "summary": "Search log events (newest first) with the query language of /search",
    "parameters": [
        query_param("q", {"type": "string"}, 'e.g. service:auth AND level:error "timeout"'),
        query_param("from", {"type": "string"}, "ISO 8601, epoch milliseconds or now-15m"),
        query_param("to", {"type": "string"}, "ISO 8601, epoch milliseconds or now"),
        query_param("range", {"type": "string"}, "instead of from/to: 15m, 1h, ..."),
        query_param("size", {"type": "integer", "minimum": 1, "maximum": 500}),
        query_param("page", {"type": "integer", "minimum": 1}),
    ],
    "responses": {"200": json_response({
        "type": "object",
        "required": ["query", "from", "to", "page", "size", "total", "total_exact", "hits"],
        "properties": {
            "query": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
            "page": {"type": "integer"}, "size": {"type": "integer"},
            "total": {"type": "integer"}, "total_exact": {"type": "boolean"},
            "hits": {"type": "array", "items": {"type": "object"}},
        }}),
    } | problem_responses(400, 503),
})

OVERVIEW_OPERATION: dict[str, Any] = {
    "summary": "The overview page's data: KPIs, time series and top lists over a range",
    "parameters": [query_param("range", {"type": "string",
                                         "enum": ["5m", "15m", "1h", "6h", "24h"]})],
    "responses": {"200": json_response({
        "type": "object", "required": ["range", "from", "to", "kpis", "timeline", "source"],
        "properties": {
            "range": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
            "kpis": {"type": "object"}, "timeline": {"type": "object"},
            "source": {"enum": ["cache", "store", "none"]},
        }}),
    } | problem_responses(400),
}
register("/api/v1/overview", "get", OVERVIEW_OPERATION)
register("/api/v1/summary", "get", OVERVIEW_OPERATION | {
    "summary": "Summary: the overview page's data (KPIs, time series, top lists)"})

register("/api/v1/windows", "get", {
    "summary": "Closed windows of a service (or one of its routes) over a time range",
    "parameters": [
        {"name": "service", "in": "query", "required": True,
         "schema": {"type": "string", "minLength": 1}},
        query_param("route", {"type": "string"}, "a route: its per-route windows"),
        query_param("size", {"type": "integer"}, "a window size in seconds"),
        query_param("from", {"type": "string"}, "epoch seconds or ISO 8601 (default: to - 1 h)"),
        query_param("to", {"type": "string"}, "epoch seconds or ISO 8601 (default: now)"),
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
    ],
    "responses": {"200": json_response({
        "type": "object",
        "required": ["service", "route", "size_s", "from", "to", "truncated", "windows"],
        "properties": {
            "service": {"type": "string"}, "route": {"type": "string", "nullable": True},
            "size_s": {"type": "integer"}, "from": {"type": "number"}, "to": {"type": "number"},
            "truncated": {"type": "boolean"},
            "windows": {"type": "array", "items": {"type": "object"}},
        }}),
    } | problem_responses(400, 503),
})
