"""Authentication for every route of the worker's web server, CSRF, and role checks.

Installed at import on Faust's aiohttp application (``app.web.web_app``): Faust builds
that application when the first view registers and freezes its middleware list only
when the server starts, so appending here is in time. Two middlewares, in order:

1. aiohttp-session with server-side sessions in Redis (the cookie holds a random key);
2. ``authenticate``: ``Authorization: Bearer <API token>`` or the session's user becomes
   ``request["principal"]``. Without one, a route outside ``PUBLIC_PATHS`` answers a
   browser (``Accept: text/html``) with a redirect to ``/login?next=...`` and anything
   else with a 401 problem document.

Every authenticated request needs at least the viewer role, except an API token with
the ``ingest`` scope on the ingest gateway (``INGEST_ROUTES``). Views ask for more with
``require(request, Role.OPERATOR)``. Session-authenticated POST/PUT/PATCH/DELETE must
carry the CSRF token (form field ``_csrf`` or header ``X-CSRF-Token``); API-token
requests are exempt (no ambient credentials).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web as aioweb
from aiohttp_session import SESSION_KEY, Session, get_session, session_middleware
from aiohttp_session.redis_storage import RedisStorage
from redis.asyncio import Redis

from app.core.tokens import Scope, bearer_token
from app.faust_app import app, settings
from app.metrics import AUTH_FAILURES
from web.auth.principal import Principal, Role, session_principal, token_principal
from web.deps import problem, token_store

log = logging.getLogger(__name__)

#: The only routes served without authentication (canonical aiohttp paths).
PUBLIC_PATHS: frozenset[str] = frozenset({"/login", "/auth/callback", "/health"})
#: Served without authentication when ``web.metrics_public`` is true.
METRICS_PATH = "/metrics"
#: Routes an API token with only the ``ingest`` scope may use: (method, canonical path).
INGEST_ROUTES: frozenset[tuple[str, str]] = frozenset({("POST", "/api/v1/logs")})

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "logwarden_session"
USER_KEY = "user"  # the session's principal (``principal.session_data``)
CSRF_SEED_KEY = "csrf_seed"

Handler = Callable[[aioweb.Request], Awaitable[aioweb.StreamResponse]]


def public_paths() -> frozenset[str]:
    """``PUBLIC_PATHS``, plus ``/metrics`` when configured public."""
    return PUBLIC_PATHS | {METRICS_PATH} if settings.web.metrics_public else PUBLIC_PATHS


def base_url() -> str:
    """The URL browsers reach this worker at (OIDC redirect URIs are built on it)."""
    configured = settings.web.public_base_url
    if configured:
        return configured
    return f"http://{settings.worker.web_host}:{settings.worker.web_port}"


def cookie_secure() -> bool:
    """Secure cookies unless configured off or served over http on the loopback host."""
    if settings.web.cookie_secure is not None:
        return settings.web.cookie_secure
    url = urlsplit(base_url())
    return not (url.scheme == "http" and url.hostname in {"127.0.0.1", "localhost", "::1"})


def wants_html(request: aioweb.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def html_page(status: int, title: str, body_html: str) -> aioweb.Response:
    """A minimal page for the login flow's outcomes (``body_html`` is already escaped)."""
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>"
            f"{html.escape(title)} · logwarden</title></head><body><h1>{html.escape(title)}"
            f"</h1>{body_html}</body></html>")
    return aioweb.Response(text=page, status=status, content_type="text/html")


def _denied(request: aioweb.Request, status: int, title: str, detail: str) -> aioweb.Response:
    if wants_html(request):
        return html_page(status, title, f"<p>{html.escape(detail)}</p>")
    return problem(status, title, detail)


def unauthenticated(request: aioweb.Request) -> aioweb.Response:
    """Browsers go to the login page; API clients get a 401 problem."""
    AUTH_FAILURES.labels("unauthenticated").inc()
    if request.method in SAFE_METHODS and wants_html(request):
        target = "/login?" + urlencode({"next": request.path_qs})
        return aioweb.Response(status=302, headers={"Location": target})
    return problem(401, "Unauthorized",
                   "log in, or send an API token: Authorization: Bearer <token>")


class Forbidden(aioweb.HTTPForbidden):
    """403 with a problem document (API) or a small page (browser)."""

    def __init__(self, request: aioweb.Request, detail: str) -> None:
        response = _denied(request, 403, "Forbidden", detail)
        super().__init__(body=response.body, content_type=response.content_type)


def principal_of(request: Any) -> Principal | None:
    found = request.get("principal")
    return found if isinstance(found, Principal) else None


def require(request: Any, role: Role) -> Principal:
    """The request's principal if it has at least ``role``; raises ``Forbidden`` (403)."""
    principal = principal_of(request)
    if principal is None:
        raise Forbidden(request, "not authenticated")
    if not principal.has(role):
        have = principal.role.label if principal.role else "no role"
        AUTH_FAILURES.labels("forbidden").inc()
        raise Forbidden(request, f"this needs the {role.label} role (you have {have})")
    return principal


def _csrf_for(seed: str) -> str:
    key = settings.web.session_secret.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Any) -> str:
    """The CSRF token of the request's session ("" without a logged-in session).

    Put it into forms as hidden input ``_csrf`` and into fetches as header ``X-CSRF-Token``.
    """
    session = request.get(SESSION_KEY)
    seed = session.get(CSRF_SEED_KEY) if isinstance(session, Session) else None
    return _csrf_for(seed) if isinstance(seed, str) and seed else ""


async def _csrf_ok(request: aioweb.Request) -> bool:
    expected = csrf_token(request)
    if not expected:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in {"application/x-www-form-urlencoded",
                                                  "multipart/form-data"}:
        form = await request.post()  # cached: the view reads it again for free
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent, expected)


async def _principal(request: aioweb.Request) -> Principal | aioweb.Response | None:
    header = request.headers.get("Authorization")
    if header is not None:
        token = bearer_token(header)
        if token is None:
            AUTH_FAILURES.labels("bad_token").inc()
            return problem(401, "Unauthorized", "malformed Authorization header "
                                                "(expected: Bearer <token>)")
        try:
            record = await token_store().lookup(token)
        except Exception as exc:  # MongoDB down: say so, the client retries
            log.warning("API token lookup failed: %s", exc)
            return problem(503, "Service Unavailable", "the token store is not reachable")
        if record is None or record.revoked_at is not None:
            AUTH_FAILURES.labels("bad_token").inc()
            return problem(401, "Unauthorized", "unknown or revoked API token")
        return token_principal(record.name, record.scopes)
    if request.cookies.get(SESSION_COOKIE) is None:
        return None
    try:
        session = await get_session(request)
    except Exception as exc:  # Redis down
        log.warning("loading the session failed: %s", exc)
        return problem(503, "Service Unavailable", "the session store is not reachable")
    data = session.get(USER_KEY)
    return session_principal(data) if isinstance(data, dict) else None


def _canonical(request: aioweb.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


@aioweb.middleware
async def authenticate(request: aioweb.Request, handler: Handler) -> aioweb.StreamResponse:
    canonical = _canonical(request)
    if canonical is not None and canonical in public_paths():
        return await handler(request)
    found = await _principal(request)
    if isinstance(found, aioweb.Response):
        return found
    if found is None:
        return unauthenticated(request)
    request["principal"] = found
    if not found.has(Role.VIEWER) and (
            (request.method, canonical) not in INGEST_ROUTES or not found.allows(Scope.INGEST)):
        AUTH_FAILURES.labels("forbidden").inc()
        return _denied(request, 403, "Forbidden",
                       "this API token may only send logs (ingest scope)")
    if found.via == "session" and request.method not in SAFE_METHODS \
            and not await _csrf_ok(request):
        AUTH_FAILURES.labels("csrf").inc()
        return _denied(request, 403, "Forbidden", "missing or wrong CSRF token")
    return await handler(request)


async def _security_headers(request: aioweb.Request, response: aioweb.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    principal = principal_of(request)
    if principal is not None and principal.via == "session":
        headers.setdefault("Cache-Control", "no-store")


session_redis: Redis = Redis.from_url(settings.redis.url)

session_storage = RedisStorage(
    session_redis, cookie_name=SESSION_COOKIE, max_age=settings.web.session_ttl_s,
    secure=cookie_secure(), httponly=True, samesite="Lax",
    encoder=json.dumps, decoder=json.loads)


def install(web_app: aioweb.Application) -> None:
    """Add the session and authentication middlewares (once) and the security headers."""
    if authenticate in web_app.middlewares:
        return
    web_app.middlewares.append(session_middleware(session_storage))
    web_app.middlewares.append(authenticate)
    web_app.on_response_prepare.append(_security_headers)


install(app.web.web_app)  # type: ignore[attr-defined]  # the aiohttp driver's Application


@app.on_before_shutdown.connect  # type: ignore[arg-type]  # mypy: union of callables
async def _close_session_redis(sender: Any, *args: Any, signal: Any = None,
                               **kwargs: Any) -> None:
    try:
        await session_redis.aclose()
    except Exception as exc:
        log.warning("closing the session Redis client failed: %s", exc)
