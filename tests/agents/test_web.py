"""The worker's web server: health and metrics served, Faust's table/router views off."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry


async def test_health_metrics_and_no_table_or_router_views(fapp: Any) -> None:
    aio = await fapp.web.wsgi()
    async with TestClient(TestServer(aio)) as client:
        health = await client.get("/health")
        assert health.status == 200
        assert (await health.json())["status"] == "ok"
        metrics = await client.get("/metrics")
        assert metrics.status == 200
        text = await metrics.text()
        assert "logwarden_dead_letters_total" in text
        assert metrics.headers["Content-Type"] == CONTENT_TYPE_LATEST  # Prometheus text format
        # Faust's PrometheusMonitor families (named after the app id) are not there
        faust_families = FaustMetrics.create(CollectorRegistry(), fapp.conf.name.replace("-", "_"))
        names = {next(iter(m.describe())).name for m in faust_families}
        assert len(names) > 10
        served = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
        assert not names & served
        paths = {r.resource.canonical for r in aio.router.routes() if r.resource}
        assert not [p for p in paths if p.startswith(("/table", "/router"))], paths
        for path in ("/table/", "/router/"):  # not served; unauthenticated: not even told
            assert (await client.get(path)).status == 401, path
