"""The operators' pages in headless Chromium: login through the real OIDC provider,
overview charts from generated traffic, a search, a live-tail event, and log text that
is markup rendered as text everywhere."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.conftest import ARTIFACTS, Stack, in_thread, log_in, probe, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHART_HAS_DATA = """id => {
  if (typeof Chart === 'undefined') return false;  // scripts still loading
  const chart = Chart.getChart(id);
  if (!chart) return false;
  return chart.data.datasets.some(d => d.data.some(v => (typeof v === 'number' ? v : v.y) > 0));
}"""


def assert_not_executed(page: Any) -> None:
    assert page.evaluate("() => document.body.dataset.xss") is None, "log text ran as markup"


def test_overview_shows_charts_from_generated_traffic(page: Any, stack: Stack) -> None:
    log_in(page, stack.url, "olga", ["operator"], "/?range=5m")
    assert page.text_content("#user-name") == "Olga"
    assert page.text_content("#user-role") == "operator"
    assert page.is_visible("form.logout button#logout")
    # windows close a few seconds after traffic; the page refreshes itself (every 2 s here)
    page.wait_for_function(CHART_HAS_DATA, arg="chart-timeline", timeout=90_000)
    for chart in ("chart-levels", "chart-level-bars", "chart-services", "chart-status",
                  "chart-rpm"):
        page.wait_for_function(CHART_HAS_DATA, arg=chart, timeout=30_000)
    assert int(page.text_content("#kpi-events") or "0") > 0
    assert page.text_content("#source") == "cache"
    services = page.evaluate("() => Chart.getChart('chart-services').data.labels")
    assert {"checkout", "auth"} <= set(services), services
    assert page.locator("#latest tbody tr:not(.empty)").count() > 0
    assert page.locator("#top-routes tbody tr").count() > 0
    assert "ms" in (page.text_content("#kpi-p95") or "")
    assert int(page.get_attribute("body", "data-refreshed") or "0") >= 1
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    assert page.js_errors == []


def test_search_query_errors_and_markup_as_text(page: Any, stack: Stack) -> None:
    marker = f"probe-{uuid.uuid4().hex[:8]}"
    stack.send([probe(marker)])
    log_in(page, stack.url, "vera", ["viewer"], "/search")

    # the probe: searchable within seconds, its markup shown as text
    def found() -> bool:
        page.goto(f"{stack.url}/search?q={quote(marker)}&range=15m")
        return page.locator("#hits tbody.hit").count() == 1
    wait_until(found, 60, what=f"the probe {marker} to be searchable")
    cell = page.locator("#hits tbody.hit td.msg summary")
    assert "<script>document.body.dataset.xss='script'</script>" in (cell.text_content() or "")
    assert page.locator("#hits script, #hits img").count() == 0
    assert_not_executed(page)
    page.click("#hits tbody.hit summary")
    assert '"service": "xss-probe"' in (page.text_content("#hits pre.doc") or "")

    # a query typed into the form, with a hit histogram and facets
    page.fill("#q", "level:error OR status>=500")
    page.press("#q", "Enter")
    page.wait_for_selector("#summary")
    assert int((page.text_content("#summary") or "0").split()[0].rstrip("+")) > 0
    page.wait_for_function(CHART_HAS_DATA, arg="chart-hits", timeout=10_000)
    levels = page.locator(".facets a").all_text_contents()
    assert "ERROR" in levels, levels
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    # a mistake: its message and column, no stack trace
    page.fill("#q", "service:auth )")
    page.press("#q", "Enter")
    error = page.text_content("#query-error p") or ""
    assert error.startswith("unexpected ')' at column 14"), error
    assert "Traceback" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "search-error.png"), full_page=True)
    assert [e for e in page.js_errors if "400" not in e] == []


def test_live_tail_receives_a_filtered_event_as_text(page: Any, stack: Stack) -> None:
    log_in(page, stack.url, "tom", ["viewer"], "/tail?q=service%3Axss-probe")
    page.wait_for_function("() => document.body.dataset.tail === 'live'", timeout=15_000)
    marker = f"tail-{uuid.uuid4().hex[:8]}"

    def received() -> bool:
        stack.send([probe(marker)])
        return page.locator("#tail-body tr", has_text=marker).count() > 0
    wait_until(received, 45, step=1.5, what="a live-tail event")
    rows = page.locator("#tail-body tr")
    assert all("xss-probe" in (t or "") for t in rows.all_text_contents())  # filtered
    text = page.locator("#tail-body tr", has_text=marker).first.text_content() or ""
    assert "<script>document.body.dataset.xss='script'</script>" in text
    assert page.locator("#tail-body script, #tail-body img").count() == 0
    assert_not_executed(page)
    assert "q=service%3Axss-probe" in (page.get_attribute("#search-this", "href") or "")
    page.click("#pause")
    page.wait_for_function("() => document.body.dataset.tail === 'paused'", timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "tail.png"), full_page=True)
    assert page.js_errors == []


def _get(url: str, token: str | None) -> tuple[int, str, Any]:
    import json
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=30) as response:
            return response.status, response.headers.get_content_type(), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), json.load(exc)


def test_logs_api_same_language_and_problem_documents(stack: Stack) -> None:
    token = stack.read_token
    base = f"{stack.url}/api/v1/logs"

    errors = quote("level:error AND service:*")

    def errors_found() -> Any:
        # up to 5 s ago: traffic keeps flowing, and what is newer may not be searchable yet
        status, _, body = _get(f"{base}?q={errors}&to=now-5s&size=5", token)
        return body if status == 200 and body["total"] > 0 else None
    body = wait_until(errors_found, 60, what="indexed errors")
    assert len(body["hits"]) <= 5 and body["page"] == 1 and body["size"] == 5
    assert all(17 <= h["severity_number"] <= 20 for h in body["hits"])
    # page 2 of the same range (the response's own from/to): no hit of page 1 again
    span = f"from={quote(body['from'])}&to={quote(body['to'])}"
    second = _get(f"{base}?q={errors}&{span}&size=5&page=2", token)[2]
    assert second["from"] == body["from"] and second["to"] == body["to"]
    assert not {h["_id"] for h in second["hits"]} & {h["_id"] for h in body["hits"]}

    status, ctype, problem = _get(f"{base}?q={quote('service:auth )')}", token)
    assert (status, ctype) == (400, "application/problem+json")
    assert problem["invalid-params"][0]["column"] == 14
    assert problem["detail"].endswith("unexpected ')' at column 14")
    for bad in ("size=0", "size=501", "page=0", "from=yesterday", "page=400&size=50"):
        status, ctype, problem = _get(f"{base}?{bad}", token)
        assert (status, ctype) == (400, "application/problem+json"), (bad, problem)
    status, ctype, _ = _get(base, None)
    assert (status, ctype) == (401, "application/problem+json")

    status, _, overview = _get(f"{stack.url}/api/v1/overview?range=5m", token)
    assert status == 200 and overview["kpis"]["indexed"] > 0
    assert _get(f"{stack.url}/api/v1/overview?range=2y", token)[0] == 400


def test_tail_socket_refuses_other_sites_and_bad_queries(stack: Stack) -> None:
    in_thread(lambda: _tail_socket_checks(stack, stack.read_token))


async def _tail_socket_checks(stack: Stack, token: str) -> None:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{stack.url}/tail/ws",
                                  headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        async with http.ws_connect(f"{stack.url}/tail/ws?q={quote('level:(')}") as ws:
            message = await ws.receive_json(timeout=10)
        assert message["type"] == "error" and "at column 8" in message["message"]
        async with http.ws_connect(f"{stack.url}/tail/ws?q=level%3Aerror") as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "ready"
            events: list[dict] = []
            while not events:
                message = await ws.receive_json(timeout=30)
                events = message.get("events", [])
            assert all(17 <= e["severity_number"] <= 20 for e in events)
