"""OIDC login: authorization-code flow with PKCE (S256), state and nonce.

``GET /login?next=/path`` keeps state, nonce and the PKCE verifier in a (pre-login)
server-side session and redirects to the provider's authorization endpoint (from the
discovery document). ``GET /auth/callback`` checks the state, exchanges the code with
the verifier (client secret, HTTP basic), verifies the ID token's signature against
the provider's JWKS and its ``iss``, ``aud``, ``exp``, ``nonce``, maps the roles claim
to logwarden roles and starts a new session (new key: no session fixation). ``POST
/logout`` (CSRF-checked) ends the session here and at the provider. ``GET /api/v1/me``
returns the principal and the CSRF token (for scripts and pages).
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web as aioweb
from aiohttp_session import get_session, new_session
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from faust.web import Request, View
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.faust_app import app, settings
from app.metrics import LOGINS
from web.auth.middleware import (
    CSRF_FIELD,
    CSRF_SEED_KEY,
    SESSION_COOKIE,
    USER_KEY,
    base_url,
    csrf_token,
    html_page,
    principal_of,
    session_redis,
)
from web.auth.principal import Principal, roles_from_claims, session_data

log = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/callback"
PENDING_KEY = "oidc_pending"
MAX_PENDING = 5  # concurrent logins (tabs) per browser
PENDING_TTL_S = 600.0
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                "ES512", "EdDSA")


class OidcError(Exception):
    """The provider answered something we cannot accept."""


class OidcClient:
    """A confidential client of one OIDC provider (discovery and JWKS cached)."""

    def __init__(self, issuer: str, client_id: str, client_secret: str,
                 redirect_uri: str, *, timeout_s: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uri = redirect_uri
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=self._timeout) as http, \
                http.get(url) as response:
            if response.status != 200:
                raise OidcError(f"GET {url}: HTTP {response.status}")
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise OidcError(f"GET {url}: not a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            doc = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if doc.get("issuer") != self.issuer:
                raise OidcError(f"discovery names issuer {doc.get('issuer')!r}, "
                                f"expected {self.issuer!r}")
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(doc.get(field), str):
                    raise OidcError(f"discovery document lacks {field}")
            self._metadata = doc
        return self._metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        async with self._lock:
            # refetch on an unknown key id, but at most every 30 s
            if self._keys is None or (refresh and time.monotonic() - self._keys_at > 30):
                jwks = await self._get_json((await self.metadata())["jwks_uri"])
                self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
                self._keys_at = time.monotonic()
            return self._keys

    async def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = urlencode({
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": "openid profile email",
            "state": state, "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        })
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        """The token response for an authorization code."""
        endpoint = (await self.metadata())["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_uri, "code_verifier": verifier}
        # client_secret_basic: both parts form-encoded first (RFC 6749 2.3.1)
        basic = base64.b64encode(
            f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}".encode())
        headers = {"Accept": "application/json", "Authorization": f"Basic {basic.decode()}"}
        async with aiohttp.ClientSession(timeout=self._timeout) as http, \
                http.post(endpoint, data=form, headers=headers) as response:
            body = await response.json(content_type=None)
            if response.status != 200 or not isinstance(body, dict):
                raise OidcError(f"token endpoint answered HTTP {response.status}: {body!r}")
        if not isinstance(body.get("id_token"), str):
            raise OidcError("token response has no id_token")
        return body

    async def verify_id_token(self, id_token: str, nonce: str, now: float) -> dict[str, Any]:
        """The ID token's claims after checking signature, issuer, audience, expiry, nonce."""
        try:
            try:
                token = jwt.decode(id_token, await self.keys(), algorithms=SIGNING_ALGS)
            except JoseError:  # perhaps a rotated key: refetch the JWKS once
                token = jwt.decode(id_token, await self.keys(refresh=True),
                                   algorithms=SIGNING_ALGS)
            registry = jwt.JWTClaimsRegistry(
                now=int(now), leeway=60,
                iss={"essential": True, "value": self.issuer},
                sub={"essential": True},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce})
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"ID token rejected: {exc}") from exc
        claims = dict(token.claims)
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 \
                and claims.get("azp") != self.client_id:
            raise OidcError("ID token for several audiences without azp = our client id")
        return claims


_client: OidcClient | None = None


def oidc_client() -> OidcClient:
    global _client
    if _client is None:
        oidc = settings.oidc
        _client = OidcClient(oidc.issuer, oidc.client_id, oidc.client_secret.get_secret_value(),
                             base_url() + CALLBACK_PATH)
    return _client


def safe_next(value: str | None) -> str:
    """A local path to return to after login (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    web_settings = settings.web
    roles = roles_from_claims(claims, web_settings.roles_claim, web_settings.role_map,
                              web_settings.default_role)
    subject = str(claims["sub"])
    name = claims.get("name") or claims.get("preferred_username") or subject
    email = claims.get("email")
    return Principal(subject=subject, name=str(name),
                     email=email if isinstance(email, str) else None,
                     roles=roles, scopes=frozenset(), via="session")


def _redirect(location: str, status: int = 302) -> aioweb.Response:
    return aioweb.Response(status=status, headers={"Location": location})


def _start_again(detail: str, status: int = 400) -> aioweb.Response:
    return html_page(status, "Login failed",
                     f"<p>{html.escape(detail)}</p><p><a href=\"/login\">Sign in again</a></p>")


@app.page("/login")
class LoginView(View):
    async def get(self, request: Request) -> aioweb.Response:
        aio: aioweb.Request = request  # type: ignore[assignment]  # aiohttp's
        if "signed_out" in aio.query:
            return html_page(200, "Signed out",
                             '<p>You are signed out.</p><p><a href="/login">Sign in</a></p>')
        target = safe_next(aio.query.get("next"))
        session = await get_session(aio)
        if isinstance(session.get(USER_KEY), dict):
            return _redirect(target)  # already logged in
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        now = time.time()
        pending = {k: v for k, v in dict(session.get(PENDING_KEY) or {}).items()
                   if now - float(v.get("at", 0)) < PENDING_TTL_S}
        while len(pending) >= MAX_PENDING:  # forget the oldest unfinished login
            del pending[min(pending, key=lambda k: float(pending[k]["at"]))]
        pending[state] = {"nonce": nonce, "verifier": verifier, "next": target, "at": now}
        session[PENDING_KEY] = pending
        try:
            url = await oidc_client().authorization_url(state, nonce, verifier)
        except (OidcError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("OIDC provider unavailable: %s", exc)
            return html_page(503, "Login unavailable",
                             "<p>The identity provider is not reachable. Try again.</p>")
        return _redirect(url)


@app.page(CALLBACK_PATH)
class CallbackView(View):
    async def get(self, request: Request) -> aioweb.Response:
        aio: aioweb.Request = request  # type: ignore[assignment]  # aiohttp's
        query = aio.query
        session = await get_session(aio)
        pending = dict(session.get(PENDING_KEY) or {})
        flow = pending.pop(query.get("state", ""), None)
        session[PENDING_KEY] = pending
        if query.get("error"):
            return _start_again(f"the identity provider said: {query['error']} "
                                f"{query.get('error_description', '')}".strip(), 401)
        if flow is None or time.time() - float(flow["at"]) > PENDING_TTL_S:
            return _start_again("unknown or expired login state")
        code = query.get("code")
        if not code:
            return _start_again("the callback carries no authorization code")
        client = oidc_client()
        try:
            tokens = await client.exchange(code, flow["verifier"])
            claims = await client.verify_id_token(tokens["id_token"], flow["nonce"], time.time())
        except (OidcError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("OIDC login failed: %s", exc)
            LOGINS.labels("failed").inc()
            return _start_again(str(exc) if isinstance(exc, OidcError)
                                else "the identity provider is not reachable", 401)
        principal = principal_from_claims(claims)
        if not principal.roles:
            log.info("login of %s refused: no logwarden role in claim %r", principal.subject,
                     settings.web.roles_claim)
            LOGINS.labels("no_role").inc()
            return html_page(403, "No access",
                             f"<p>{html.escape(principal.name)} has no logwarden role.</p>")
        old_key = session.identity
        fresh = await new_session(aio)  # a new key: the pre-login cookie is worthless now
        fresh[USER_KEY] = session_data(principal)
        fresh[CSRF_SEED_KEY] = secrets.token_urlsafe(32)
        fresh["login_at"] = time.time()
        fresh["id_token"] = tokens["id_token"]  # the logout hint for the provider
        if old_key is not None:
            await session_redis.delete(f"{SESSION_COOKIE}_{old_key}")
        LOGINS.labels("ok").inc()
        log.info("login: %s (%s) as %s", principal.subject, principal.name,
                 ",".join(sorted(r.label for r in principal.roles)))
        return _redirect(flow["next"])


@app.page("/logout")
class LogoutView(View):
    async def get(self, request: Request) -> aioweb.Response:
        """A confirmation form (logout is a POST: a link cannot log anyone out)."""
        token = html.escape(csrf_token(request))
        return html_page(200, "Sign out",
                         f'<form method="post" action="/logout"><input type="hidden" '
                         f'name="{CSRF_FIELD}" value="{token}"><button type="submit">'
                         f"Sign out</button></form>")

    async def post(self, request: Request) -> aioweb.Response:
        aio: aioweb.Request = request  # type: ignore[assignment]  # aiohttp's
        session = await get_session(aio)
        id_token = session.get("id_token")
        key = session.identity
        session.invalidate()
        if key is not None:
            await session_redis.delete(f"{SESSION_COOKIE}_{key}")
        signed_out = base_url() + "/login?signed_out=1"
        try:
            end = (await oidc_client().metadata()).get("end_session_endpoint")
        except (OidcError, aiohttp.ClientError, TimeoutError):
            end = None
        if not isinstance(end, str):
            return _redirect(signed_out, 303)
        params = {"client_id": settings.oidc.client_id, "post_logout_redirect_uri": signed_out}
        if isinstance(id_token, str):
            params["id_token_hint"] = id_token
        return _redirect(f"{end}{'&' if '?' in end else '?'}{urlencode(params)}", 303)


@app.page("/api/v1/me")
class MeView(View):
    async def get(self, request: Request) -> aioweb.Response:
        principal = principal_of(request)
        assert principal is not None  # the middleware let the request in
        return aioweb.json_response(principal.to_json() | {"csrf_token": csrf_token(request)})
