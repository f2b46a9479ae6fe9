"""The alerting command line: ``rules validate`` (exit 0 / exit 2 naming file, rule and
field), ``silence add|list|expire`` and ``ack`` on a real Kafka (a silences topic of the
test's own)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app.adapters.silences import read_mutes
from app.settings import load_settings

pytestmark = pytest.mark.integration

BROKEN = """rules:
  - name: fine
    type: frequency
    count: 3
    within: 1m
  - name: slow-api
    type: threshold
    metric: latency_p95
    op: ">"
    value: 1000
    window: 7s
"""


async def _topic(bootstrap: str, name: str, create: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if create:
            await admin.create_topics([NewTopic(name, 1, 1)])
        else:
            await admin.delete_topics([name])
    finally:
        await admin.close()


@pytest.fixture()
def env(kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    topic = f"cli{uuid.uuid4().hex[:10]}.alerts.silences"
    asyncio.run(_topic(kafka_bootstrap, topic, create=True))
    base = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    yield base | {"LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
                  "LOGWARDEN_TOPICS__ALERTS_SILENCES": topic}
    asyncio.run(_topic(kafka_bootstrap, topic, create=False))


def cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *argv], env=env,
                          capture_output=True, text=True, timeout=90, check=False)


def test_rules_validate_good_and_broken(env: dict[str, str], tmp_path: Path) -> None:
    good = cli(env, "rules", "validate", "alert_rules")
    assert good.returncode == 0, good.stderr
    assert "high-error-rate\tthreshold\t" in good.stdout and "valid" in good.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    bad = cli(env, "rules", "validate", str(tmp_path))
    assert bad.returncode == 2 and bad.stdout == ""
    assert f"{broken}: rule 'slow-api': field 'window':" in bad.stderr, bad.stderr
    assert "'fine'" not in bad.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: x\ntype: frequency\ncount: 3\nwithin: 1m\ncuont: 4\n")
    bad = cli(env, "rules", "validate", str(typo))
    assert bad.returncode == 2 and f"{typo}: rule 'x': field 'cuont'" in bad.stderr


def test_silence_add_list_expire_and_ack(env: dict[str, str]) -> None:
    added = cli(env, "silence", "add", "alertname=high-error-rate", "service=~check.*",
                "--duration", "30m", "--comment", "deploy", "--by", "tester")
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.strip()
    listed = cli(env, "silence", "list")
    [row] = listed.stdout.splitlines()
    fields = row.split("\t")
    assert fields[0] == silence_id and fields[1] == "active"
    assert fields[2] == "alertname=high-error-rate service=~check.*"
    assert fields[4:] == ["tester", "deploy"]

    expired = cli(env, "silence", "expire", silence_id)
    assert expired.returncode == 0 and expired.stdout.strip() == f"expired {silence_id}"
    assert cli(env, "silence", "list").stdout == ""
    assert cli(env, "silence", "list", "--all").stdout.split("\t")[:2] == [silence_id,
                                                                         "expired"]
    missing = cli(env, "silence", "expire", "no-such-id")
    assert missing.returncode == 1 and "no silence 'no-such-id'" in missing.stderr
    assert cli(env, "silence", "add").returncode == 2  # no matcher
    assert cli(env, "silence", "add", "service").returncode == 2  # not name=value

    acked = cli(env, "ack", "f1ngerprint", "3", "--by", "tester", "--comment", "on it")
    assert acked.returncode == 0, acked.stderr
    settings = load_settings(None, kafka={"bootstrap_servers": env[
        "LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"]}, topics={"alerts_silences": env[
            "LOGWARDEN_TOPICS__ALERTS_SILENCES"]})
    mutes = asyncio.run(read_mutes(settings))
    assert mutes.acked("f1ngerprint", 3) and not mutes.acked("f1ngerprint", 4)
    assert not mutes.silences[silence_id].active(time.time())  # the expiry is on the topic
