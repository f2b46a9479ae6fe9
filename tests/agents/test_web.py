"""The worker's web server: health and metrics served, Faust's table/router views off."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer


async def test_health_metrics_and_no_table_or_router_views(fapp: Any) -> None:
    aio = await fapp.web.wsgi()
    async with TestClient(TestServer(aio)) as client:
        health = await client.get("/health")
        assert health.status == 200
        assert (await health.json())["status"] == "ok"
        metrics = await client.get("/metrics")
        assert metrics.status == 200
        assert "logwarden_dead_letters_total" in await metrics.text()
        paths = {r.resource.canonical for r in aio.router.routes() if r.resource}
        assert not [p for p in paths if p.startswith(("/table", "/router"))], paths
        for path in ("/table/", "/router/"):  # not served; unauthenticated: not even told
            assert (await client.get(path)).status == 401, path
