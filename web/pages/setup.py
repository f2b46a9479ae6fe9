"""Jinja2 (autoescaping) and ``/static/`` on the Faust web server's aiohttp application.

``render`` is how every page answers: the layout gets the principal (name, role), the
CSRF token for the logout form and the navigation; the response carries a strict
Content-Security-Policy (scripts and styles only from ``/static/``), a second line of
defence behind autoescaping for log text, which is attacker-controlled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web as aioweb

from app.faust_app import app
from web.auth import csrf_token, principal_of

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"

NAV = (("overview", "Overview", "/"), ("search", "Search", "/search"),
       ("tail", "Live tail", "/tail"), ("alerts", "Alerts", "/alerts"),
       ("pipeline", "Pipeline", "/pipeline"), ("services", "Services", "/services"))

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

web_app: aioweb.Application = app.web.web_app  # type: ignore[attr-defined]  # aiohttp driver
environment = aiohttp_jinja2.setup(
    web_app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
    trim_blocks=True, lstrip_blocks=True)
web_app.router.add_static("/static/", str(STATIC), name="static", append_version=True)


def static_url(path: str) -> str:
    """``/static/<path>?v=<hash>`` (cache-busting by content)."""
    return str(web_app.router["static"].url_for(filename=path))


environment.globals["static_url"] = static_url


def render(request: Any, template: str, context: dict[str, Any], *,
           active: str, status: int = 200) -> aioweb.Response:
    principal = principal_of(request)
    full = {"principal": principal,
            "role": principal.role.label if principal and principal.role else "",
            "csrf": csrf_token(request), "nav": NAV, "active": active, **context}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Content-Security-Policy"] = CSP
    return response
