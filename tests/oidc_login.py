"""Log in to a running logwarden worker through the dev stack's OIDC provider.

The provider is navikt mock-oauth2-server with its interactive login form
(``app/devstack/oidc.py``). Its authorization endpoint answers a GET with an HTML form
that POSTs back to the same URL (the authorization request's query string included):

==================  =====================================================================
form field          meaning
==================  =====================================================================
``username``        ``<input type="text" name="username">``: becomes the ``sub`` claim
``claims``          ``<textarea name="claims">``: optional JSON object merged into the ID
                    token, e.g. ``{"roles": ["operator"], "name": "Ada"}``
submit              ``<input type="submit" value="Sign-in">``
==================  =====================================================================

The provider then redirects to ``/auth/callback?code=...&state=...``, which sets the
``logwarden_session`` cookie and redirects to ``next``.

Playwright::

    page.goto(f"{base}/login?next=/")
    page.fill('input[name="username"]', "ada")
    page.fill('textarea[name="claims"]', json.dumps({"roles": ["admin"]}))
    page.click('input[type="submit"]')
    page.wait_for_url(f"{base}/")

aiohttp (this module)::

    async with oidc_session() as http:
        await login(http, base, "ada", ["operator"])
        async with http.get(f"{base}/api/v1/me") as r: ...

A ``ClientSession`` only keeps cookies of IP-address hosts with ``CookieJar(unsafe=True)``
(``oidc_session`` does that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

USERNAME_FIELD = "username"
CLAIMS_FIELD = "claims"
SESSION_COOKIE = "logwarden_session"


@dataclass(frozen=True)
class LoginResult:
    authorize_url: str  # the provider URL /login redirected to (PKCE, state, nonce in it)
    callback_url: str  # where the provider sent the browser back
    landed: str  # where the callback redirected (``next``)
    callback_status: int


def oidc_session(**kwargs: Any) -> aiohttp.ClientSession:
    """A client session whose cookie jar keeps cookies of 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), **kwargs)


async def provider_form(http: aiohttp.ClientSession, base_url: str,
                        next_path: str = "/") -> str:
    """Step 1: ``/login`` redirects to the provider; returns the authorization URL."""
    async with http.get(f"{base_url}/login?" + urlencode({"next": next_path}),
                        allow_redirects=False, headers={"Accept": "text/html"}) as response:
        assert response.status == 302, f"/login answered {response.status}"
        return response.headers["Location"]


async def submit_form(http: aiohttp.ClientSession, authorize_url: str, username: str,
                      claims: dict[str, Any]) -> str:
    """Step 2: the provider's login form; returns the callback URL it redirects to."""
    async with http.get(authorize_url) as form:
        assert form.status == 200, f"authorization endpoint answered {form.status}"
        page = await form.text()
        assert f'name="{USERNAME_FIELD}"' in page and f'name="{CLAIMS_FIELD}"' in page
    data = {USERNAME_FIELD: username, CLAIMS_FIELD: json.dumps(claims)}
    async with http.post(authorize_url, data=data, allow_redirects=False) as response:
        assert response.status == 302, f"provider login answered {response.status}"
        return response.headers["Location"]


async def login(http: aiohttp.ClientSession, base_url: str, username: str,
                roles: Iterable[str] = ("viewer",), *, next_path: str = "/",
                claims: dict[str, Any] | None = None, roles_claim: str = "roles",
                expect_status: int = 302) -> LoginResult:
    """Log ``username`` in with ``roles`` in the ``roles_claim`` claim of the ID token.

    On success the session cookie is in ``http``'s cookie jar. ``expect_status`` is what
    the callback must answer (302 on success; 403 for a user without a role).
    """
    authorize_url = await provider_form(http, base_url, next_path)
    query = parse_qs(urlsplit(authorize_url).query)
    for param in ("state", "nonce", "code_challenge"):
        assert query.get(param), f"authorization request without {param}"
    all_claims = {roles_claim: list(roles), "name": username.title(),
                  "email": f"{username}@example.test"} | (claims or {})
    callback_url = await submit_form(http, authorize_url, username, all_claims)
    async with http.get(callback_url, allow_redirects=False) as response:
        assert response.status == expect_status, (
            f"callback answered {response.status}: {await response.text()}")
        landed = response.headers.get("Location", "")
    return LoginResult(authorize_url, callback_url, landed, expect_status)


async def csrf_token(http: aiohttp.ClientSession, base_url: str) -> str:
    """The logged-in session's CSRF token (from ``GET /api/v1/me``)."""
    async with http.get(f"{base_url}/api/v1/me") as response:
        assert response.status == 200, f"/api/v1/me answered {response.status}"
        token = (await response.json())["csrf_token"]
        assert isinstance(token, str) and token
        return token
