"""OIDC login against the dev stack's real provider, sessions in Redis, roles, logout, CSRF."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.e2e import webstack
from tests.e2e.webstack import WebWorker
from tests.oidc_login import SESSION_COOKIE, csrf_token, login, oidc_session

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)
REDIS_URL = "redis://127.0.0.1:6380/0"


def session_cookie(http: aiohttp.ClientSession) -> str | None:
    found = [c.value for c in http.cookie_jar if c.key == SESSION_COOKIE]
    return found[0] if found else None


async def me(http: aiohttp.ClientSession, base: str, **kwargs: object) -> tuple[int, dict]:
    async with http.get(f"{base}/api/v1/me", allow_redirects=False, **kwargs) as response:
        body = await response.json(content_type=None) if response.status != 302 else {}
        return response.status, body


async def test_login_maps_roles_and_starts_a_fresh_server_side_session(
        web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as http:
        result = await login(http, base, "ada", ["operator", "something-else"],
                             next_path="/api/v1/me?x=1")
        query = parse_qs(urlsplit(result.authorize_url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["redirect_uri"] == [f"{base}/auth/callback"]
        assert query["scope"] == ["openid profile email"]
        assert result.landed == "/api/v1/me?x=1"

        status, body = await me(http, base)
        assert status == 200, body
        assert body["subject"] == "ada" and body["name"] == "Ada"
        assert body["email"] == "ada@example.test"
        assert (body["roles"], body["role"], body["via"]) == (["operator"], "operator",
                                                              "session")
        assert body["csrf_token"]

        # the session lives in Redis under the cookie's key, with the TTL configured
        key = session_cookie(http)
        assert key
        redis = Redis.from_url(REDIS_URL)
        try:
            stored = await redis.get(f"{SESSION_COOKIE}_{key}")
            ttl = await redis.ttl(f"{SESSION_COOKIE}_{key}")
        finally:
            await redis.aclose()
        assert stored is not None and b'"sub": "ada"' in stored
        assert 0 < ttl <= 8 * 3600


async def test_session_cookie_flags_and_no_fixation(web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as http:
        async with http.get(f"{base}/login?next=/", allow_redirects=False) as response:
            assert response.status == 302
            pre_login = response.cookies[SESSION_COOKIE]
        assert pre_login["httponly"] is True
        assert pre_login["samesite"] == "Lax"
        assert not pre_login["secure"]  # http on 127.0.0.1: a Secure cookie would not return
        assert pre_login["path"] == "/"
        await login(http, base, "bob", ["viewer"])
        assert session_cookie(http) not in (None, pre_login.value)
        assert (await me(http, base))[0] == 200

        # the pre-login key is worthless afterwards
        async with oidc_session() as other:
            other.cookie_jar.update_cookies({SESSION_COOKIE: pre_login.value},
                                            response_url=response.url)
            assert (await me(other, base))[0] == 401


async def test_login_state_must_match_and_is_used_once(web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as http:
        async with http.get(f"{base}/auth/callback?code=abc&state=forged",
                            allow_redirects=False) as response:
            assert response.status == 400
            assert "unknown or expired login state" in await response.text()
        result = await login(http, base, "carol", ["viewer"])
        async with http.get(result.callback_url, allow_redirects=False) as replay:
            assert replay.status == 400  # the state was consumed by the first callback

    async with oidc_session() as stranger, \
            stranger.get(result.callback_url, allow_redirects=False) as response:
        assert response.status == 400  # a callback URL without the browser's session


async def test_user_without_a_role_gets_no_session(web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as http:
        await login(http, base, "mallory", [], expect_status=403)
        assert (await me(http, base))[0] == 401
        await login(http, base, "mallory", ["root"], expect_status=403)  # unmapped value
        assert (await me(http, base))[0] == 401


async def test_unauthenticated_browser_is_sent_to_login_and_api_gets_401(
        web_worker: WebWorker) -> None:
    base = web_worker.url
    async with aiohttp.ClientSession() as http:
        status, _ = await me(http, base, headers={"Accept": "text/html,*/*"})
        assert status == 302
        async with http.get(f"{base}/api/v1/me?a=b", headers={"Accept": "text/html"},
                            allow_redirects=False) as response:
            assert response.headers["Location"] == "/login?next=%2Fapi%2Fv1%2Fme%3Fa%3Db"
        async with http.get(f"{base}/api/v1/me") as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
            assert (await response.json())["title"] == "Unauthorized"
        # an open redirect through ?next= is refused: only local paths
        async with oidc_session() as fresh:
            result = await login(fresh, base, "eve", ["viewer"], next_path="//evil.test/x")
            assert result.landed == "/"


async def test_logout_needs_csrf_and_ends_the_session(web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as http:
        await login(http, base, "dave", ["admin"])
        token = await csrf_token(http, base)
        key = session_cookie(http)

        async with http.post(f"{base}/logout", allow_redirects=False) as response:
            assert response.status == 403  # no CSRF token
        async with http.post(f"{base}/logout", data={"_csrf": "0" * 64},
                             allow_redirects=False) as response:
            assert response.status == 403  # a wrong one
        assert (await me(http, base))[0] == 200  # still logged in

        async with http.post(f"{base}/logout", data={"_csrf": token},
                             allow_redirects=False) as response:
            assert response.status == 303
            target = urlsplit(response.headers["Location"])
        assert target.path == "/default/endsession"  # the provider's end_session_endpoint
        params = parse_qs(target.query)
        assert params["post_logout_redirect_uri"] == [f"{base}/login?signed_out=1"]
        assert params["id_token_hint"]
        assert (await me(http, base))[0] == 401

    async with oidc_session() as replay:  # the old cookie value is dead server-side too
        replay.cookie_jar.update_cookies({SESSION_COOKIE: key or ""},
                                         response_url=response.url)
        assert (await me(replay, base))[0] == 401


async def test_csrf_header_works_for_fetches(web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as http:
        await login(http, base, "erin", ["viewer"])
        token = await csrf_token(http, base)
        async with http.post(f"{base}/logout", headers={"X-CSRF-Token": token},
                             allow_redirects=False) as response:
            assert response.status == 303
