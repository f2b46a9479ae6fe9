"""Alerting to delivery, the whole chain on the real services: a worker runs parse,
aggregate, alerts and notify; generated traffic with an error spike on ``checkout``
fires a 10 s error-rate rule, whose notification arrives as a mail in the SMTP sink's
Maildir and as JSON on a webhook served here; when the spike stops the resolve notice
arrives the same way; a silence then keeps the next firing from being notified."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from app.core.notification import Notification
from tests.conftest import require_tcp
from tests.e2e.alertkit import (
    FAST_ALERTING,
    Webhook,
    channels_file,
    generate,
    mails_to,
    plain_text,
    remove_mails_to,
    silence,
    transitions,
)
from tests.e2e.conftest import Worker
from tests.e2e.traffic import wait_until

pytestmark = pytest.mark.e2e

RULE = "e2e-checkout-errors"
RULES = f"""rules:
  - name: {RULE}
    type: threshold
    description: checkout fails too often
    filter: {{service: checkout}}
    group_by: [service]
    metric: error_rate
    op: ">"
    value: 0.25
    window: 10s
    min_events: 10
    severity: critical
    routes: [ops]
    annotations:
      summary: "{{{{ labels.service }}}}: {{{{ (value * 100) | round(1) }}}}% errors"
    notify: {{group_by: [service], group_wait: 1s, group_interval: 2s}}
"""
BASE_URL = "http://dashboard.e2e.test:6066"
ENV = FAST_ALERTING | {
    "LOGWARDEN_ALERTING__DASHBOARD_BASE_URL": BASE_URL,
    "LOGWARDEN_NOTIFY__BASE_BACKOFF_S": "0.2",
    "LOGWARDEN_NOTIFY__MAX_BACKOFF_S": "1",
    "LOGWARDEN_WORKER__AGENTS": '["parse", "aggregate", "alerts", "notify"]',
}


def kinds(hook: Webhook) -> list[str]:
    return [Notification.from_json(p["message"]).kind for p in hook.got]


def states(env: dict[str, str], to: str) -> int:
    return sum(1 for t in transitions(env) if t["rule"] == RULE and t["to"] == to)


def test_incident_is_mailed_and_posted_resolved_then_silenced(
        isolated: dict[str, str], tmp_path: Path, webhook: Webhook) -> None:
    require_tcp("SMTP sink", "127.0.0.1:1025")
    run = isolated["LOGWARDEN_MONGO__DATABASE"]
    rcpt = f"ops-{run}@example.test"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "checkout.yaml").write_text(RULES)
    channels = channels_file(tmp_path / "channels.yaml", rcpt, webhook)
    env = isolated | ENV | {"LOGWARDEN_ALERTING__RULES_DIR": str(rules),
                            "LOGWARDEN_NOTIFY__APPRISE_CONFIG": str(channels)}
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        # 1. the spike fires: one mail, one webhook post
        spike = generate(env, 25, ["error_spike=checkout"])
        assert wait_until(lambda: "firing" in kinds(webhook) and len(mails_to(rcpt)) >= 1,
                          60), f"no firing notice: {kinds(webhook)}\n{worker.tail()}"
        spike.wait(timeout=60)
        fired = Notification.from_json(webhook.got[0]["message"])
        assert fired.kind == "firing" and fired.group == f"{RULE}|service=checkout"
        assert fired.routes == ("ops",) and fired.severity == "critical"
        [alert] = fired.alerts
        assert alert["labels"]["service"] == "checkout" and alert["threshold"] == 0.25
        assert alert["value"] > 0.25
        [mail] = mails_to(rcpt)
        assert str(mail["Subject"]) == fired.title == f"[FIRING:1] {RULE} (service=checkout)"
        text = plain_text(mail)
        assert RULE in text and "checkout fails too often" in text
        assert "current " in text and " vs threshold 0.25" in text
        assert f"search: {BASE_URL}/search?q=" in text and "checkout" in text.split("search:")[1]
        assert "FIRING" in text and "service=checkout" in text, text

        # 2. the spike stops: the resolve notice follows, by mail and webhook
        calm = generate(env, 30, [])
        assert wait_until(lambda: "resolved" in kinds(webhook) and len(mails_to(rcpt)) >= 2,
                          60), f"no resolve notice: {kinds(webhook)}\n{worker.tail()}"
        calm.wait(timeout=60)
        resolved = Notification.from_json(webhook.got[-1]["message"])
        assert resolved.title == f"[RESOLVED:1] {RULE} (service=checkout)"
        assert resolved.alerts[0]["duration_s"] > 0
        assert sorted(str(m["Subject"]) for m in mails_to(rcpt)) == sorted(
            [fired.title, resolved.title])
        assert "resolved after" in plain_text(next(m for m in mails_to(rcpt) if "RESOLVED"
                                                   in str(m["Subject"])))

        # 3. silenced: the next spike fires (a transition) but nobody is notified
        silence(env, f"alertname={RULE}", "service=checkout")
        posted, mailed = len(webhook.got), len(mails_to(rcpt))
        again = generate(env, 25, ["error_spike=checkout"])
        assert wait_until(lambda: states(env, "firing") >= 2, 60), worker.tail()
        time.sleep(5)  # group_wait 1 s, group_interval 2 s, delivery: ample
        again.wait(timeout=60)
        assert len(webhook.got) == posted and len(mails_to(rcpt)) == mailed, kinds(webhook)
        assert all(orjson.loads(p["message"])["group"] == fired.group for p in webhook.got)
    finally:
        worker.stop()
        remove_mails_to(rcpt)
