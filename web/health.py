"""``/health``: liveness of the worker's web server (no authentication)."""

from __future__ import annotations

from typing import Any

from faust.web import Request, Response

from app.faust_app import app


@app.page("/health")
async def health(web: Any, request: Request) -> Response:
    response: Response = web.json({"status": "ok", "app": app.conf.id})
    return response
