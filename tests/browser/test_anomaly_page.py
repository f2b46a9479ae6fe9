"""The anomaly view in headless Chromium: a viewer follows the link from the alerts page,
sees the metric per closed window with the spike rule's baseline band and the flagged
windows, raises z in the threshold control and sees fewer windows flagged, without a
reload. The windows are written into the run's MongoDB through the window store adapter.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import ARTIFACTS, Stack, in_thread, log_in
from tests.e2e.test_anomaly_view import write_windows

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

DATASETS = """() => {
  const chart = window.Chart.getChart(document.getElementById("chart-anomaly"));
  return chart.data.datasets.map((d) => [d.label, d.data.filter((p) => p.y !== null).length]);
}"""


def test_viewer_sees_the_band_and_changes_the_threshold(page: Any, stack: Stack) -> None:
    service = f"anom-{uuid.uuid4().hex[:6]}"
    in_thread(lambda: write_windows(stack.run, service, {25: 80, 32: 40}))
    log_in(page, stack.url, "vera", ["viewer"], "/alerts")
    assert page.locator("#anomaly-link").count() == 1
    assert page.locator('#rules a.anomaly-link[href*="error-count-spike"]').count() == 1
    page.click("#anomaly-link")
    page.wait_for_url(f"{stack.url}/alerts/anomaly", timeout=15_000)
    page.goto(f"{stack.url}/alerts/anomaly?"
              + urlencode({"service": service, "rule": "error-count-spike", "range": "1h"}))
    page.wait_for_selector("#chart-anomaly")
    assert page.input_value("#z") == "4.0"  # the rule's parameters, prefilled
    assert page.input_value("#min_stddev") == "2.0"
    assert page.input_value("#metric") == "errors"
    assert page.locator("#flagged-count").text_content() == "2"
    assert page.locator("#window-count").text_content() == "40"
    datasets = dict(page.evaluate(DATASETS))
    assert datasets["baseline + z·spread"] == datasets["baseline - z·spread"] == 40 - 18
    assert datasets["errors"] == 40 and datasets["flagged"] == 2
    assert page.locator("#flagged tr.flagged-window").count() == 2
    page.screenshot(path=str(ARTIFACTS / "anomaly.png"), full_page=True)

    page.fill("#z", "20")
    page.wait_for_function(
        "() => document.getElementById('flagged-count').textContent === '1'", timeout=15_000)
    assert dict(page.evaluate(DATASETS))["flagged"] == 1
    assert page.locator("#flagged tr.flagged-window").count() == 1
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    assert page.js_errors == []
    page.screenshot(path=str(ARTIFACTS / "anomaly-z20.png"), full_page=True)
