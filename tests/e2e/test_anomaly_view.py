"""The anomaly view's JSON twin (``GET /api/v1/anomaly``) and page against a real worker
and MongoDB: closed windows written through the window store adapter, replayed through
the loaded ``error-count-spike`` rule (its parameters prefill the answer), the band and
the flagged windows, a higher z flagging fewer; invalid parameters are problem documents.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
import pytest

from app.adapters.window_store import MongoWindowStore
from tests.e2e import webstack
from tests.e2e.webstack import MONGO_URL, WebWorker
from tests.oidc_login import login, oidc_session
from tests.unit.alerting.helpers import window

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)
QUIET = [9, 10, 11, 10]


def series(start: float, spikes: dict[int, int], n: int = 40) -> list[dict[str, Any]]:
    """Errors per 10 s window: about 10, with ``spikes`` (index -> errors)."""
    return [window("", start + 10 * i, errors=spikes.get(i, QUIET[i % len(QUIET)]))
            for i in range(n)]


async def write_windows(database: str, service: str, spikes: dict[int, int]) -> float:
    start = (time.time() // 10) * 10 - 40 * 10 - 60
    docs = series(start, spikes)
    for doc in docs:
        doc["service"] = service
        doc["_id"] = f"{service}||10|{doc['start']:.0f}"
    store = MongoWindowStore(MONGO_URL, database)
    try:
        assert await store.upsert(docs) == len(docs)
    finally:
        await store.close()
    return start


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def anomaly(http: aiohttp.ClientSession, web: WebWorker, status: int = 200,
                  token: str = "read", **params: Any) -> Any:
    async with http.get(f"{web.url}/api/v1/anomaly", params=params,
                        headers=bearer(web.tokens[token])) as response:
        assert response.status == status, await response.text()
        if status >= 400:
            assert response.content_type == "application/problem+json"
        return await response.json(content_type=None)


async def test_anomaly_api_replays_the_spike_rule_over_stored_windows(
        web_worker: WebWorker) -> None:
    service = f"anom-{uuid.uuid4().hex[:6]}"
    start = await write_windows(web_worker.database, service, {25: 80, 32: 40})
    async with aiohttp.ClientSession() as http:
        body = await anomaly(http, web_worker, service=service, rule="error-count-spike")
        # the rule's own metric, window and parameters
        assert (body["metric"], body["size"], body["rule"]) == ("errors", 10,
                                                                 "error-count-spike")
        assert body["params"]["z"] == 4 and body["params"]["warm_up"] == 18
        assert body["params"]["min_stddev"] == 2 and body["params"]["baseline"] == "ewma"
        assert body["windows"] == 40
        points = body["points"]
        assert [p["start"] for p in points] == [start + 10 * i for i in range(40)]
        assert [p["start"] for p in points if p["flagged"]] == [start + 250, start + 320]
        assert body["flagged"] == 2
        assert not points[17]["warm"] and points[17]["upper"] is None
        warm = points[20]
        assert warm["warm"] and 9 < warm["centre"] < 11 and warm["spread"] == 2
        assert warm["upper"] == pytest.approx(warm["centre"] + 4 * 2)
        assert warm["lower"] == pytest.approx(warm["centre"] - 4 * 2)
        # the spike was not learned
        assert points[26]["centre"] == points[25]["centre"]

        # the threshold control: a higher z flags only the larger spike (80 errors: z 35;
        # 40 errors: z 15, now learned)
        higher = await anomaly(http, web_worker, service=service, rule="error-count-spike",
                               z="20")
        assert higher["params"]["z"] == 20 and higher["flagged"] == 1
        assert [p["start"] for p in higher["points"] if p["flagged"]] == [start + 250]
        # no rule: the type's defaults, with explicit metric, size and range
        plain = await anomaly(http, web_worker, service=service, metric="count", size="10",
                              range="1h", warm_up="5")
        assert plain["rule"] is None and plain["params"]["z"] == 3 and plain["flagged"] == 0
        assert all(p["value"] == 100 for p in plain["points"])
        other = await anomaly(http, web_worker, service=service, metric="errors", size="60")
        assert other["windows"] == 0 and other["points"] == []

        for params, name in [({}, "service"), ({"metric": "bogus"}, "metric"),
                             ({"rule": "no-such-rule"}, "rule"), ({"z": "0"}, "z"),
                             ({"z": "abc"}, "z"), ({"size": "7"}, "size"),
                             ({"alpha": "2"}, "alpha"), ({"direction": "sideways"}, "direction"),
                             ({"from": "now-1h", "to": "now-2h"}, "from"),
                             ({"range": "1y"}, "range"), ({"range": "7d", "size": "10"}, "from")]:
            query = {"service": service, **params} if name != "service" else params
            problem = await anomaly(http, web_worker, 400, **query)
            assert problem["status"] == 400
            assert [p["name"] for p in problem["invalid-params"]] == [name], params
        async with http.get(f"{web_worker.url}/api/v1/anomaly",
                            params={"service": service}) as response:
            assert response.status == 401
        await anomaly(http, web_worker, 403, token="ingest", service=service)

    async with oidc_session() as http:
        await login(http, web_worker.url, "vic", ["viewer"])
        async with http.get(f"{web_worker.url}/alerts/anomaly",
                            params={"service": service, "rule": "error-count-spike"}) as response:
            assert response.status == 200
            html = await response.text()
        assert 'id="anomaly-data"' in html and 'id="chart-anomaly"' in html
        assert '<span id="flagged-count">2</span>' in html
        async with http.get(f"{web_worker.url}/alerts") as response:
            page = await response.text()
        assert 'href="/alerts/anomaly"' in page
        assert 'href="/alerts/anomaly?rule=error-count-spike"' in page
