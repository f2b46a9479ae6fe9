"""The notify agent end to end: a real worker (only ``notify``) reads Notifications from
its own ``notifications.outbox``, mails them to the dev stack's SMTP sink and posts them
to a JSON webhook served here, records each delivery in MongoDB; replaying the outbox
and restarting the worker (even as a fresh consumer group reading from offset 0) send
nothing twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
from pymongo import MongoClient

from app.core.notification import Notification
from tests.conftest import require_tcp
from tests.e2e.alertkit import Webhook, channels_file, mails_to, plain_text, remove_mails_to
from tests.e2e.conftest import Worker, free_port, produce, read_topic
from tests.e2e.traffic import wait_until

pytestmark = pytest.mark.e2e


def records(env: dict[str, str]) -> list[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(env["LOGWARDEN_MONGO__URL"])
    try:
        return list(client[env["LOGWARDEN_MONGO__DATABASE"]]["deliveries"].find({}, {"_id": 0}))
    finally:
        client.close()


def metric(worker: Worker, name: str) -> float:
    with urllib.request.urlopen(f"{worker.web}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{"))


def test_outbox_to_mail_and_webhook_once_across_replay_and_restart(
        isolated: dict[str, str], tmp_path: Path, webhook: Webhook) -> None:
    require_tcp("SMTP sink", "127.0.0.1:1025")
    run = isolated["LOGWARDEN_MONGO__DATABASE"]
    rcpt = f"ops-{run}@example.test"
    channels = channels_file(tmp_path / "channels.yaml", rcpt, webhook)
    env = isolated | {"LOGWARDEN_WORKER__AGENTS": '["notify"]',
                      "LOGWARDEN_NOTIFY__APPRISE_CONFIG": str(channels),
                      "LOGWARDEN_NOTIFY__BASE_BACKOFF_S": "0.2",
                      "LOGWARDEN_NOTIFY__MAX_BACKOFF_S": "1"}
    bootstrap = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"]
    outbox = env["LOGWARDEN_TOPICS__NOTIFICATIONS_OUTBOX"]
    notes = [Notification(key=f"{run}-{i}", kind="firing", routes=("ops",),
                          title=f"[FIRING] checkout errors #{i} {run}",
                          body=f"**checkout** error rate {10 + i}% > 5%", group="errors|checkout",
                          created_at=time.time(), severity="critical",
                          alerts=({"rule": "errors", "value": 0.1 + i / 100},))
             for i in range(3)]
    messages = [(n.key.encode(), n.to_json(), []) for n in notes]
    bad = (b"bad-" + run.encode(), b'{"key": "x", "kind": "nope"}', [])
    delivered = {(n.key, ch) for n in notes for ch in ("ops-email", "ops-webhook")}

    def settled() -> set[tuple[str, str]]:
        return {(r["key"], r["channel"]) for r in records(env) if r["status"] == "delivered"}

    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        asyncio.run(produce(bootstrap, outbox, [*messages, bad]))
        assert wait_until(lambda: settled() == delivered, 60), (
            f"deliveries {records(env)}; worker log:\n{worker.tail()}")
        assert wait_until(lambda: len(mails_to(rcpt)) >= 3 and len(webhook.got) >= 3, 20)
        subjects = sorted(str(m["Subject"]) for m in mails_to(rcpt))
        assert subjects == sorted(n.title for n in notes)
        plain = plain_text(mails_to(rcpt)[0])
        assert "error rate 1" in plain and "> 5%" in plain and f"key {run}-" in plain
        got = sorted((Notification.from_json(p["message"]) for p in webhook.got),
                     key=lambda n: n.key)
        assert got == notes and {p["type"] for p in webhook.got} == {"failure"}
        for rec in records(env):
            assert [(a["n"], a["result"]) for a in rec["attempts"]] == [(1, "delivered")]
        letters = asyncio.run(read_topic(bootstrap, env["LOGWARDEN_TOPICS__DLQ"], 1, 20))
        assert [(d["stage"], d["reason"]) for d in letters] == [("notify", "bad_field")]

        # replay: the same messages again on the outbox, to the running worker
        asyncio.run(produce(bootstrap, outbox, messages))
        assert wait_until(lambda: metric(worker, "logwarden_notifications_duplicate_total")
                          == 6, 30), worker.tail()

        # `logwarden notify test --outbox`: through the outbox and this worker
        cli = subprocess.run([sys.executable, "-m", "app.cli", "notify", "test", "--tag",
                              "webhook", "--outbox", "--wait", "30"], env=env,
                             capture_output=True, text=True, timeout=90)
        assert cli.returncode == 0, cli.stderr + worker.tail()
        assert cli.stdout.strip() == "ops-webhook\tdelivered\t1 attempt(s)"
        assert len(webhook.got) == 4 and len(mails_to(rcpt)) == 3
        assert orjson.loads(webhook.got[-1]["message"])["kind"] == "test"
    finally:
        worker.stop()

    # restart as a fresh consumer group: the whole outbox is read again from offset 0
    again = Worker(env | {"LOGWARDEN_WORKER__APP_ID": env["LOGWARDEN_WORKER__APP_ID"] + "-2",
                          "LOGWARDEN_WORKER__WEB_PORT": str(free_port())},
                   tmp_path / "worker2.log")
    again.start()
    try:
        assert wait_until(lambda: metric(again, "logwarden_notifications_duplicate_total")
                          == 13, 60), again.tail()  # 3 x 2 twice, and the test
        assert metric(again, "logwarden_notifications_sent_total") == 0
    finally:
        again.stop()
    time.sleep(1)
    assert len(mails_to(rcpt)) == 3 and len(webhook.got) == 4
    assert {(k, ch) for k, ch in settled() if k.startswith(run)} == delivered
    assert len(records(env)) == 7 and all(len(r["attempts"]) == 1 for r in records(env))
    remove_mails_to(rcpt)
