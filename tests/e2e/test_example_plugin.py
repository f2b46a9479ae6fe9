"""The example plugin (examples/logwarden-security) end to end on real Kafka.

1. One real worker runs the built-in ``parse`` agent and the plugin agent ``security``
   (``worker.agents``), in isolated topics. CEF lines (the plugin's parser, chosen by the
   ``format`` header) and one sshd syslog line (a built-in parser) go to ``logs.raw``;
   the test finds their canonical events on ``logs.events`` and, on the plugin's output
   topic, exactly one password-spraying finding for the spraying IP and none for the
   others.
2. The alert leg: a worker runs ``parse``, ``security``, ``alerts`` and ``notify``; a
   rule of the plugin's rule type ``distinct_count`` (password spraying) fires on the same
   traffic, and its notification goes through the normal delivery path to two channels:
   a JSON webhook (the built-in Apprise notifier) and a file written by the plugin's own
   notifier ``jsonl`` (``lw_notifier: jsonl`` in the channels file).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from app.core.notification import Notification
from tests.e2e.alertkit import FAST_ALERTING, Webhook
from tests.e2e.conftest import Worker, produce, read_topic
from tests.e2e.traffic import wait_until

pytestmark = pytest.mark.e2e

SPRAYER, QUIET = "203.0.113.77", "198.51.100.23"


def cef(product: str, user: str, ip: str, rt_ms: int, outcome: str = "failure") -> bytes:
    return (f"CEF:0|Acme|{product}|1.0|4625|Logon failed|5|src={ip} suser={user} "
            f"outcome={outcome} rt={rt_ms} msg=bad password").encode()


async def partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(topics)
                if not d["error_code"]}
    finally:
        await admin.close()


async def read_events(bootstrap: str, topic: str, want: int, timeout: float
                      ) -> list[dict[str, Any]]:
    """Canonical events of ``logs.events`` (each message is a JSON array of them)."""
    deadline, events = time.monotonic() + timeout, []
    while len(events) < want and time.monotonic() < deadline:
        batches = await read_topic(bootstrap, topic, 10**6, timeout=1)
        events = [event for batch in batches for event in batch]
    return events


def spraying_traffic(now_ms: int) -> list[tuple[bytes, bytes, list[Any]]]:
    """7 users failing from SPRAYER on two services (CEF), QUIET failing for one user and
    successes (CEF), and one sshd failure from SPRAYER (syslog)."""
    header = [("format", b"cef")]
    records: list[tuple[bytes, bytes, list[Any]]] = []
    # the sprayer: 7 users on two services (two sources, so two logs.events partitions)
    for i, user in enumerate(["ann", "bob", "cat", "dan"]):
        records.append((b"vpn-1", cef("VPN Gateway", user, SPRAYER, now_ms + i), header))
    for i, user in enumerate(["eve", "fay", "gus"]):
        records.append((b"mail-1", cef("Webmail", user, SPRAYER, now_ms + 10 + i), header))
    # another IP failing for one user several times, and successes: no finding
    records += [(b"vpn-1", cef("VPN Gateway", "joe", QUIET, now_ms + i), header)
                for i in range(8)]
    records += [(b"mail-1", cef("Webmail", f"u{i}", QUIET, now_ms + i, "success"), header)
                for i in range(8)]
    # a built-in format from the same IP: sshd via auto-detected syslog + the extract enricher
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(now_ms / 1000))
    records.append((b"bastion-1", f"<38>{stamp} bastion-1 sshd[123]: Failed password for "
                    f"invalid user admin from {SPRAYER} port 5555 ssh2".encode(), []))
    return records


def plugin_env(isolated: dict[str, str], agents: str) -> tuple[dict[str, str], str]:
    """The worker's environment with the plugin agent on; and its findings topic."""
    run = isolated["LOGWARDEN_TOPICS__RAW"].split(".", 1)[0]
    findings_topic = f"{run}.security.findings"
    return isolated | {
        "LOGWARDEN_WORKER__AGENTS": agents,
        "LOGWARDEN_PLUGINS__STRICT": "true",  # a broken plugin must fail this test
        "LOGWARDEN_PLUGINS__SECURITY__MIN_USERS": "6",
        "LOGWARDEN_PLUGINS__SECURITY__MIN_SERVICES": "2",
        "LOGWARDEN_PLUGINS__SECURITY__OUTPUT_TOPIC": findings_topic,
    }, findings_topic


def test_plugin_parser_and_agent_on_real_kafka(isolated: dict[str, str], kafka_bootstrap: str,
                                               tmp_path: Path) -> None:
    env, findings_topic = plugin_env(isolated, '["parse", "security"]')
    now_ms = int(time.time() * 1000)
    records = spraying_traffic(now_ms)
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        asyncio.run(produce(kafka_bootstrap, env["LOGWARDEN_TOPICS__RAW"], records))
        events = asyncio.run(read_events(kafka_bootstrap, env["LOGWARDEN_TOPICS__EVENTS"],
                                         len(records), timeout=90))
        # the plugin creates its output topic on its first finding
        findings = asyncio.run(read_topic(kafka_bootstrap, findings_topic, 1, timeout=60))
        # a second (wrong) finding would come from the failures after the sixth user
        findings = asyncio.run(read_topic(kafka_bootstrap, findings_topic, 2, timeout=5))
        app_id = env["LOGWARDEN_WORKER__APP_ID"]
        plugin_topics = [findings_topic, f"{app_id}-security-failures",
                         f"{app_id}-security-spray-changelog"]
        partitions = asyncio.run(partition_counts(kafka_bootstrap, plugin_topics))
    finally:
        worker.stop()

    assert len(events) == len(records), worker.tail()
    cef_events = [e for e in events if e["parse"]["parser"] == "cef"]
    assert len(cef_events) == len(records) - 1
    first = next(e for e in cef_events if e["attrs"].get("user") == "ann")
    assert first["service"] == "vpn-gateway"
    assert first["attrs"]["source_ip"] == SPRAYER and first["attrs"]["auth_result"] == "failure"
    assert first["ts"].startswith(time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now_ms / 1000)))
    sshd = next(e for e in events if e["parse"]["parser"] != "cef")
    assert sshd["attrs"]["auth_result"] == "invalid_user"

    assert len(findings) == 1, (findings, worker.tail())
    finding = findings[0]
    assert finding["kind"] == "password_spraying" and finding["source_ip"] == SPRAYER
    assert finding["users"] >= 6 and finding["threshold"] == 6
    assert {"vpn-gateway", "webmail"} <= set(finding["services"])
    # the re-keyed topic, the table's changelog and the output all have the host's count
    assert partitions == dict.fromkeys(plugin_topics, 2), partitions
    log = worker.log.read_text()
    assert "plugin agent security 0.1.0 (logwarden-security 0.1.0) registered" in log


RULE = "e2e-password-spraying"
#: the plugin's rule type, from an ordinary rule file
SPRAY_RULES = f"""rules:
  - name: {RULE}
    type: distinct_count
    description: many users failing to log in from one address, on several services
    filter:
      fields:
        attrs.auth_result: [failure, invalid_user]
    group_by: [attrs.source_ip]
    field: attrs.user
    threshold: 6
    timeframe: 5m
    across: service
    min_across: 2
    severity: critical
    routes: [security]
    annotations:
      summary: "{{{{ value | int }}}} users failed from {{{{ labels.source_ip }}}}"
    notify: {{group_by: [source_ip], group_wait: 1s, group_interval: 2s}}
"""


def plugin_channels(path: Path, hook: Webhook, out: Path) -> Path:
    """A webhook (Apprise, built in) and the plugin's ``jsonl`` notifier, both ``security``."""
    path.write_text(f"""version: 1
urls:
  - {hook.url}:
      tag: security, webhook
      lw_channel: sec-webhook
  - lw_notifier: jsonl
    lw_channel: sec-file
    tag: security
    path: {out}
""")
    return path


def test_plugin_rule_type_fires_through_webhook_and_plugin_notifier(
        isolated: dict[str, str], kafka_bootstrap: str, tmp_path: Path,
        webhook: Webhook) -> None:
    env, findings_topic = plugin_env(isolated, '["parse", "security", "alerts", "notify"]')
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "spraying.yaml").write_text(SPRAY_RULES)
    out = tmp_path / "security-notifications.jsonl"
    env |= FAST_ALERTING | {
        "LOGWARDEN_ALERTING__RULES_DIR": str(rules),
        "LOGWARDEN_NOTIFY__APPRISE_CONFIG": str(plugin_channels(tmp_path / "ch.yaml",
                                                                webhook, out)),
        "LOGWARDEN_NOTIFY__BASE_BACKOFF_S": "0.2",
        "LOGWARDEN_NOTIFY__MAX_BACKOFF_S": "1",
    }

    def written() -> list[Notification]:
        if not out.exists():
            return []
        return [Notification.from_json(line) for line in out.read_bytes().splitlines()]

    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        asyncio.run(produce(kafka_bootstrap, env["LOGWARDEN_TOPICS__RAW"],
                            spraying_traffic(int(time.time() * 1000))))
        assert wait_until(lambda: bool(webhook.got) and bool(written()), 90, 0.5), (
            f"no notification: webhook {webhook.got}, file {written()}\n{worker.tail()}")
        time.sleep(3)  # group_interval 2 s: a second (wrong) notice would be here by now
        findings = asyncio.run(read_topic(kafka_bootstrap, findings_topic, 1, timeout=10))
    finally:
        worker.stop()

    posted = [Notification.from_json(p["message"]) for p in webhook.got]
    assert [n.kind for n in posted] == ["firing"], (posted, worker.tail())
    fired = posted[0]
    assert RULE in fired.title and SPRAYER in fired.title, fired.title
    assert fired.routes == ("security",) and fired.severity == "critical"
    [alert] = fired.alerts
    assert alert["rule"] == RULE and SPRAYER in alert["labels"].values(), alert
    assert alert["value"] >= 6 and alert["threshold"] == 6
    assert f"users failed from {SPRAYER}" in fired.body, fired.body
    assert QUIET not in fired.body
    # the plugin's notifier wrote the same notification (one line: delivered once)
    assert [n.key for n in written()] == [fired.key], written()
    assert written()[0] == fired
    # and the plugin agent, in the same worker, found the same sprayer
    assert [f["source_ip"] for f in findings] == [SPRAYER], findings
