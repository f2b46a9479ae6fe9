"""Every route of the worker's web server needs authentication, except the allowlist.

The inventory comes from the application itself (imported with the worker's own
environment in a subprocess), so a route added later is checked without editing this
test. Each route is then called on the running worker without credentials, with a
bogus token, with an ingest-only token, and Faust's table/router views must be gone.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import aiohttp
import pytest

from tests.e2e import webstack
from tests.e2e.webstack import WebWorker

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)

INVENTORY = """
import json
import app.main
from app.main import app
from web.auth import public_paths
app.web.init_server()
routes = sorted({(r.method, r.resource.canonical) for r in app.web.web_app.router.routes()
                 if r.resource is not None})
print(json.dumps({"routes": routes, "public": sorted(public_paths())}))
"""


def inventory(web: WebWorker) -> tuple[list[tuple[str, str]], set[str]]:
    out = subprocess.run([sys.executable, "-c", INVENTORY], env=web.env, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    found = json.loads(out.strip().splitlines()[-1])
    return [(m, p) for m, p in found["routes"]], set(found["public"])


def concrete(canonical: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", canonical)


async def test_every_route_but_the_allowlist_requires_authentication(
        web_worker: WebWorker) -> None:
    routes, public = inventory(web_worker)
    paths = {p for _, p in routes}
    # the inventory is real: it holds the views we know of
    assert {"/health", "/login", "/auth/callback", "/logout", "/api/v1/me", "/api/v1/logs",
            "/api/v1/services", "/metrics"} <= paths
    assert public == {"/login", "/auth/callback", "/health", "/metrics"}
    assert not [p for p in paths if p.startswith(("/table", "/router"))], paths

    checked = 0
    async with aiohttp.ClientSession() as http:
        for method, path in routes:
            if method in {"OPTIONS", "*"}:
                continue
            url = f"{web_worker.url}{concrete(path)}"
            async with http.request(method, url, allow_redirects=False) as response:
                if path in public:
                    assert response.status not in (401, 403), (method, path)
                    continue
                assert response.status == 401, (method, path, response.status)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                if method != "HEAD":
                    body = await response.json(content_type="application/problem+json")
                    assert body["status"] == 401
            if method == "GET":  # a browser goes to the login page instead
                async with http.get(url, headers={"Accept": "text/html"},
                                    allow_redirects=False) as response:
                    assert response.status == 302, path
                    assert response.headers["Location"].startswith("/login?next=")
            bogus = {"Authorization": "Bearer lw_not-a-real-token"}
            async with http.request(method, url, headers=bogus,
                                    allow_redirects=False) as response:
                assert response.status == 401, (method, path)
            async with http.request(method, url, headers={"Cookie": "logwarden_session=abc"},
                                    allow_redirects=False) as response:
                assert response.status == 401, (method, path)  # an unknown session key
            ingest = {"Authorization": f"Bearer {web_worker.tokens['ingest']}"}
            if (method, path) != ("POST", "/api/v1/logs"):
                async with http.request(method, url, headers=ingest,
                                        allow_redirects=False) as response:
                    assert response.status == 403, (method, path, response.status)
            checked += 1
    assert checked >= 8


async def test_faust_table_and_router_views_are_off(web_worker: WebWorker) -> None:
    admin = {"Authorization": f"Bearer {web_worker.tokens['admin']}"}
    async with aiohttp.ClientSession(headers=admin) as http:
        async with http.get(f"{web_worker.url}/api/v1/me") as response:
            assert response.status == 200  # the token works ...
            assert (await response.json())["role"] == "admin"
        for path in ("/table/", "/table/windows/", "/router/", "/router/windows/"):
            async with http.get(f"{web_worker.url}{path}") as response:
                assert response.status == 404, path  # ... and these do not exist
