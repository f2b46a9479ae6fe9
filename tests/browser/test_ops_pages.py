"""Pipeline, dead letters and services in headless Chromium, as an admin (screenshots
``pipeline.png``, ``dlq.png``, ``services.png``); a viewer is refused ``/dlq``.

A malformed line (markup inside, to check escaping) is produced to the run's raw topic;
the admin finds it on ``/dlq``, replays it through the page's form and sees it marked
replayed; on ``/services`` the admin registers a service's team, owner and tier.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Stack, in_thread, log_in, wait_until
from tests.e2e.conftest import produce

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_admin_pipeline_dlq_and_services(page: Any, browser: Any, stack: Stack) -> None:
    marker = uuid.uuid4().hex[:10]
    line = (f'{{"service": "broken-{marker}", "message": "<img src=x '
            f'onerror=\\"document.body.dataset.xss=1\\">').encode()
    in_thread(lambda: produce(stack.env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
                              stack.env["LOGWARDEN_TOPICS__RAW"],
                              [(b"", line, [("format", b"json")])]))

    log_in(page, stack.url, "ada", ["admin"], "/pipeline")

    def measured() -> bool:
        page.reload()
        return all(page.locator(css).count() >= 1 for css in (
            '#agents tr[data-agent="parse"]', "#lag tr.lag-row",
            "#watermarks tr.watermark",  # the aggregate agent closed windows
            "#sinks tr[data-sink]"))  # the index agent wrote to Elasticsearch
    wait_until(measured, 90, step=3, what="agents, lag, watermarks and sinks on /pipeline")
    page.wait_for_timeout(5500)
    page.reload()  # a second read at least 5 s later gives rates
    rate = page.locator('#agents tr[data-agent="parse"] td').nth(3).text_content() or ""
    assert rate.strip() not in ("", "\N{EN DASH}"), rate
    page.screenshot(path=str(ARTIFACTS / "pipeline.png"), full_page=True)

    def listed() -> Any:
        page.goto(f"{stack.url}/dlq?reason=malformed_json")
        row = page.locator("#dead-letters tbody.letter", has_text=marker)
        return row if row.count() == 1 else None
    row = wait_until(listed, 60, what="the malformed line on /dlq")
    assert "parse" in (row.locator("td.stage").text_content() or "")
    assert "<img src=x" in (row.locator("pre").text_content() or "")  # shown as text
    assert page.evaluate("document.body.dataset.xss") is None
    letter = row.get_attribute("data-id")
    row.locator('input[name="id"]').check()
    page.click("#replay-submit")
    page.wait_for_selector("#notice", timeout=15_000)
    assert f"{letter}: replayed" in (page.text_content("#notice") or "")
    row = page.locator(f'#dead-letters tbody.letter[data-id="{letter}"]')
    replayed = row.locator("td.replayed").text_content() or ""
    assert "1\N{MULTIPLICATION SIGN} (last by Ada" in replayed
    row.locator('input[name="id"]').check()
    page.click("#replay-submit")
    page.wait_for_selector("#notice", timeout=15_000)
    assert "already replayed by Ada" in (page.text_content("#notice") or "")
    page.screenshot(path=str(ARTIFACTS / "dlq.png"), full_page=True)

    service = f"svc-{marker}"
    page.goto(f"{stack.url}/services")
    page.fill("#new-service", service)
    page.fill("#new-team", "payments")
    page.fill("#new-owner", "alice")
    page.fill("#new-tier", "1")
    page.click("#add-submit")
    page.wait_for_selector("#notice", timeout=15_000)
    saved = page.locator(f'#services tr.service[data-service="{service}"]')
    assert saved.locator("input.field-team").input_value() == "payments"
    saved.locator("input.field-owner").fill("bob")
    saved.locator("button.save").click()
    page.wait_for_selector("#notice", timeout=15_000)
    saved = page.locator(f'#services tr.service[data-service="{service}"]')
    assert saved.locator("input.field-owner").input_value() == "bob"
    page.screenshot(path=str(ARTIFACTS / "services.png"), full_page=True)
    assert page.js_errors == []

    viewer = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = viewer.new_page()
        log_in(tab, stack.url, "vic", ["viewer"], "/services")
        assert tab.locator(f'#services tr.service[data-service="{service}"] td.field-owner'
                           ).text_content() == "bob"
        assert tab.locator("#add-service").count() == 0
        response = tab.goto(f"{stack.url}/dlq")
        assert response is not None and response.status == 403
        response = tab.goto(f"{stack.url}/pipeline")
        assert response is not None and response.status == 200
        assert tab.locator("#dlq-link").count() == 0
    finally:
        viewer.close()
