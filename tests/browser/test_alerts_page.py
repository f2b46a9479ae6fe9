"""The alerts page in headless Chromium: an operator silences a firing alert from the page
and the silence is listed (and marks the alert); a viewer sees the forms disabled and a
POST of theirs is refused with 403.

The alert is a transition written into the run's MongoDB through the adapter the alerts
agent writes history with (``MongoAlertStore.record_transitions``); the silence goes
through the page to the run's ``alerts.silences`` topic and back.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from app.adapters.alert_store import MongoAlertStore
from app.core.alerting.lifecycle import Transition
from app.core.alerting.models import fingerprint
from tests.browser.conftest import ARTIFACTS, Stack, in_thread, log_in
from tests.e2e.webstack import MONGO_URL

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def fire(stack: Stack, service: str) -> str:
    """A firing ``high-error-rate`` alert for ``service``, as the alerts agent records it."""
    labels = {"service": service}
    fp = fingerprint("high-error-rate", labels)
    now = time.time()
    moves = [Transition(rule="high-error-rate", fingerprint=fp, activation=1, from_state=old,
                        to_state=new, at=now - 5, labels=labels, value=0.42, threshold=0.25,
                        peak=0.5, comparison=">", starts_at=now - 5, ends_at=None,
                        window=[now - 65, now - 5],
                        annotations={"summary": f"{service}: 42% errors"})
             for old, new in (("inactive", "pending"), ("pending", "firing"))]

    async def record() -> None:
        store = MongoAlertStore(MONGO_URL, stack.run)
        try:
            await store.record_transitions([m.to_doc() for m in moves])
        finally:
            await store.close()
    in_thread(record)
    return fp


def test_operator_silences_an_alert_and_a_viewer_cannot(page: Any, browser: Any,
                                                        stack: Stack) -> None:
    service = f"svc-{uuid.uuid4().hex[:6]}"
    fp = fire(stack, service)
    log_in(page, stack.url, "olga", ["operator"], "/alerts")
    row = page.locator(f'#active-alerts tbody.alert[data-fingerprint="{fp}"]')
    assert row.count() == 1
    assert "firing" in (row.locator("td.state").text_content() or "")
    assert "42% errors" in (row.text_content() or "")  # the annotation, as evidence
    assert row.locator("a.search-link").count() == 1
    rules = page.locator("#rules tr.rule", has_text="high-error-rate")
    assert "firing" in (rules.text_content() or "")

    # "Silence…" pre-fills the form with the alert's labels
    row.locator("a.silence-link").click()
    matchers = page.input_value("#silence-matchers")
    assert f"service={service}" in matchers and "alertname=high-error-rate" in matchers
    page.fill("#silence-comment", f"deploy of {service}")
    page.click("#silence-submit")
    page.wait_for_selector("#notice", timeout=15_000)
    silence = page.locator("#silences-table tr.silence", has_text=f"deploy of {service}")
    assert silence.count() == 1
    assert "active" in (silence.text_content() or "")
    assert silence.locator("td.creator").text_content() == "Olga"
    row = page.locator(f'#active-alerts tbody.alert[data-fingerprint="{fp}"]')
    assert "silenced by" in (row.text_content() or "")
    page.screenshot(path=str(ARTIFACTS / "alerts.png"), full_page=True)
    assert page.js_errors == []

    # a viewer: the forms are disabled, and posting anyway is refused
    viewer = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = viewer.new_page()
        log_in(tab, stack.url, "vera", ["viewer"], "/alerts")
        assert tab.locator("#silence-form fieldset[disabled]").count() == 1
        assert tab.locator(f'tbody.alert[data-fingerprint="{fp}"] button.ack').is_disabled()
        csrf = tab.get_attribute('#silence-form input[name="_csrf"]', "value")
        refused = tab.request.post(f"{stack.url}/alerts/silences", form={
            "_csrf": csrf or "", "matchers": f"service={service}", "duration": "1h"},
            max_redirects=0)
        assert refused.status == 403
        api = tab.request.post(f"{stack.url}/api/v1/silences", headers={"X-CSRF-Token": csrf or ""},
                               data={"matchers": [f"service={service}"]})
        assert api.status == 403
        tab.screenshot(path=str(ARTIFACTS / "alerts-viewer.png"), full_page=True)
    finally:
        viewer.close()
    listed = page.request.get(f"{stack.url}/api/v1/silences").json()["silences"]
    assert [s["created_by"] for s in listed if s["comment"] == f"deploy of {service}"] == ["Olga"]
