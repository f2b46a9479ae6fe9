"""Admin token management over the API (admin token) and the page (admin session + CSRF)."""

from __future__ import annotations

import re

import aiohttp
import pytest

from tests.e2e import webstack
from tests.e2e.webstack import WebWorker
from tests.oidc_login import csrf_token, login, oidc_session

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_api_creates_shows_once_lists_and_revokes(web_worker: WebWorker) -> None:
    base, admin = web_worker.url, bearer(web_worker.tokens["admin"])
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/tokens", headers=admin,
                             json={"name": "ci-reader", "scopes": ["read"]}) as response:
            assert response.status == 201
            created = await response.json()
        token = created["token"]
        assert token.startswith("lw_") and created["scopes"] == ["read"]

        async with http.post(f"{base}/api/v1/tokens", headers=admin,
                             json={"name": "ci-reader", "scopes": ["read"]}) as response:
            assert response.status == 409
        for bad in ({"name": "", "scopes": ["read"]}, {"name": "x", "scopes": ["root"]},
                    {"name": "x", "scopes": []}, ["not", "an", "object"]):
            async with http.post(f"{base}/api/v1/tokens", headers=admin, json=bad) as response:
                assert response.status == 400, bad
                assert response.content_type == "application/problem+json"

        async with http.get(f"{base}/api/v1/tokens", headers=admin) as response:
            listed = {t["name"]: t for t in (await response.json())["tokens"]}
        assert listed["ci-reader"]["scopes"] == ["read"]
        assert listed["ci-reader"]["revoked_at"] is None
        assert token not in str(listed)  # never shown again (only its hash is stored)

        async with http.get(f"{base}/api/v1/me", headers=bearer(token)) as response:
            assert (await response.json())["role"] == "viewer"
        async with http.get(f"{base}/api/v1/tokens", headers=bearer(token)) as response:
            assert response.status == 403  # read scope: no token management

        async with http.delete(f"{base}/api/v1/tokens/ci-reader", headers=admin) as response:
            assert response.status == 204
        async with http.delete(f"{base}/api/v1/tokens/ci-reader", headers=admin) as response:
            assert response.status == 404
        # the store's lookup cache is per process: the worker forgets the token at once
        async with http.get(f"{base}/api/v1/me", headers=bearer(token)) as response:
            assert response.status == 401


async def test_page_needs_admin_and_csrf(web_worker: WebWorker) -> None:
    base = web_worker.url
    async with oidc_session() as operator:
        await login(operator, base, "olga", ["operator"])
        async with operator.get(f"{base}/admin/tokens",
                                headers={"Accept": "text/html"}) as response:
            assert response.status == 403
        token = await csrf_token(operator, base)
        async with operator.post(f"{base}/api/v1/tokens", json={"name": "n", "scopes": ["read"]},
                                 headers={"X-CSRF-Token": token}) as response:
            assert response.status == 403  # CSRF fine, role not

    async with oidc_session() as admin:
        await login(admin, base, "adam", ["admin"])
        async with admin.get(f"{base}/admin/tokens") as response:
            assert response.status == 200
            page = await response.text()
        assert "web-admin" in page
        async with admin.post(f"{base}/admin/tokens",
                              data={"name": "from-page", "scopes": "ingest"}) as response:
            assert response.status == 403  # no CSRF token
        token = await csrf_token(admin, base)
        async with admin.post(f"{base}/admin/tokens", data={
                "name": "from-page", "scopes": "ingest", "_csrf": token}) as response:
            assert response.status == 200
            page = await response.text()
        shown = re.search(r'<code id="new-token">(lw_[^<]+)</code>', page)
        assert shown, page
        async with admin.post(f"{base}/admin/tokens", data={
                "name": "<script>", "scopes": "ingest", "_csrf": token}) as response:
            assert response.status == 400
            assert "<script>" not in await response.text()
        async with admin.post(f"{base}/admin/tokens/from-page/revoke", data={"_csrf": token},
                              allow_redirects=False) as response:
            assert response.status == 303
        async with admin.get(f"{base}/api/v1/tokens") as response:  # a session works too
            listed = {t["name"]: t for t in (await response.json())["tokens"]}
        assert listed["from-page"]["revoked_at"] is not None
