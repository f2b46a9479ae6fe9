"""Delivery through Apprise to real receivers: the dev stack's SMTP sink (Maildir), JSON
webhooks served by aiohttp in the test, delivery records in the real MongoDB-wire server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from agents.delivery import Deliverer
from app.adapters.apprise_channels import load_channels, registered_notifier
from app.adapters.delivery_log import MongoDeliveryLog
from app.core.delivery import RateLimiter, RetryPolicy
from app.core.notification import Notification
from app.devstack.smtp import maildir_path
from tests.conftest import require_tcp
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.integration
MONGO = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
SMTP = "127.0.0.1:1025"


@dataclass
class Receiver:
    """A JSON webhook: answers ``statuses`` in turn (then 200), keeps what it got."""

    port: int
    statuses: list[int] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.got.append(await request.json())
        return web.Response(status=status, text="ok" if status == 200 else "boom")


@pytest.fixture()
async def receivers() -> AsyncIterator[dict[str, Receiver]]:
    hooks = {name: Receiver(free_port()) for name in ("hook", "flaky", "dead")}
    hooks["flaky"].statuses = [500, 500]
    hooks["dead"].statuses = [500] * 100
    runners = []
    for name, hook in hooks.items():
        webapp = web.Application()
        webapp.router.add_post(f"/{name}", hook.handle)
        runner = web.AppRunner(webapp)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", hook.port).start()
        runners.append(runner)
    yield hooks
    for runner in runners:
        await runner.cleanup()


@pytest.fixture()
def database() -> str:
    require_tcp("MongoDB", MONGO.split("//", 1)[1].split("/", 1)[0])
    return f"test_deliveries_{uuid.uuid4().hex[:10]}"


@pytest.fixture()
async def records(database: str) -> AsyncIterator[MongoDeliveryLog]:
    log = MongoDeliveryLog(MONGO, database)
    await log.ensure_indexes()
    yield log
    await log._client.drop_database(database)
    await log.close()


def channel_file(tmp_path: Path, hooks: dict[str, Receiver], rcpt: str) -> Path:
    path = tmp_path / "channels.yaml"
    lines = ["version: 1", "urls:",
             f"  - mailto://{SMTP}?mode=insecure&from=logwarden@example.test&to={rcpt}:",
             "      tag: ops, email", "      lw_channel: mail"]
    for name, hook in hooks.items():
        lines += [f"  - json://127.0.0.1:{hook.port}/{name}:", f"      tag: {name}",
                  f"      lw_channel: {name}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def note(routes: tuple[str, ...], **extra: Any) -> Notification:
    run = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {
        "key": f"it-{run}", "kind": "firing", "routes": routes,
        "title": f"[FIRING] checkout error rate {run}",
        "body": f"**checkout** error rate 12.5% > 5% ({run})\n\n- /pay 500 x 41",
        "group": "error_rate|checkout", "created_at": time.time(), "severity": "critical",
        "alerts": ({"rule": "error_rate", "value": 0.125, "threshold": 0.05},)}
    return Notification(**(fields | extra))


def mails_to(rcpt: str, timeout: float = 10.0) -> list[email.message.EmailMessage]:
    require_tcp("SMTP sink", SMTP)
    box = mailbox.Maildir(str(maildir_path()), create=False)
    deadline = time.monotonic() + timeout
    found: list[email.message.EmailMessage] = []
    while time.monotonic() < deadline:
        found = [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
                 for key in box.iterkeys()
                 if rcpt.encode() in box.get_bytes(key)]
        if found:
            return found  # type: ignore[return-value]
        time.sleep(0.2)
    return found


def deliverer(path: Path, log: MongoDeliveryLog, *, attempts: int = 4,
              rate: float = 600.0, burst: int = 5, notifiers: Any = None) -> Deliverer:
    channels = load_channels(path, rate_per_minute=rate,
                             notifiers=notifiers or registered_notifier)
    return Deliverer(channels, log, RetryPolicy(attempts, 0.05, 0.2), RateLimiter(burst),
                     send_timeout_s=10)


async def test_mail_and_webhook_arrive_once_even_when_delivered_again(
        tmp_path: Path, receivers: dict[str, Receiver], records: MongoDeliveryLog) -> None:
    rcpt = f"ops-{uuid.uuid4().hex[:8]}@example.test"
    path = channel_file(tmp_path, receivers, rcpt)
    notification = note(("ops", "hook"))
    outcomes = await deliverer(path, records).deliver([notification])
    assert sorted((o.channel, o.result, o.attempts) for o in outcomes) == [
        ("hook", "delivered", 1), ("mail", "delivered", 1)]

    mails = mails_to(rcpt)
    assert len(mails) == 1
    assert mails[0]["Subject"] == notification.title
    plain = mails[0].get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "checkout error rate 12.5% > 5%" in text and f"key {notification.key}" in text

    [payload] = receivers["hook"].got
    assert payload["title"] == notification.title and payload["type"] == "failure"
    assert Notification.from_json(payload["message"]) == notification

    docs = await records.find(notification.key)
    assert [(d["channel"], d["status"], [a["result"] for a in d["attempts"]]) for d in docs] == [
        ("hook", "delivered", ["delivered"]), ("mail", "delivered", ["delivered"])]
    assert all(d["attempts"][0]["n"] == 1 and d["attempts"][0]["error"] is None for d in docs)

    # the same notice again (a replay, a restart, a duplicate in the outbox): nothing sent
    again = await deliverer(path, records).deliver([notification, notification])
    assert {o.result for o in again} == {"duplicate"}
    await asyncio.sleep(1.0)
    assert len(mails_to(rcpt)) == 1 and receivers["hook"].calls == 1
    box = mailbox.Maildir(str(maildir_path()), create=False)
    for key in [k for k in box.iterkeys() if rcpt.encode() in box.get_bytes(k)]:
        box.remove(key)  # our own mail only


async def test_a_failing_webhook_gets_it_after_retries_and_mongo_shows_three_attempts(
        tmp_path: Path, receivers: dict[str, Receiver], records: MongoDeliveryLog) -> None:
    path = channel_file(tmp_path, receivers, "nobody@example.test")
    notification = note(("flaky",))
    [outcome] = await deliverer(path, records).deliver([notification])
    assert (outcome.result, outcome.attempts) == ("delivered", 3)
    assert receivers["flaky"].calls == 3 and len(receivers["flaky"].got) == 1
    [doc] = await records.find(notification.key)
    assert doc["status"] == "delivered" and doc["channel"] == "flaky"
    attempts = doc["attempts"]
    assert [(a["n"], a["result"]) for a in attempts] == [
        (1, "failed"), (2, "failed"), (3, "delivered")]
    assert "500" in attempts[0]["error"] and attempts[2]["error"] is None
    assert attempts[0]["at"] < attempts[1]["at"] < attempts[2]["at"]
    assert "sending_attempt" not in doc


async def test_a_dead_channel_is_given_up_on_without_holding_up_the_others(
        tmp_path: Path, receivers: dict[str, Receiver], records: MongoDeliveryLog) -> None:
    path = channel_file(tmp_path, receivers, "nobody@example.test")
    notification = note(("dead", "hook"))
    outcomes = await deliverer(path, records, attempts=3).deliver([notification])
    by_channel = {o.channel: o for o in outcomes}
    assert by_channel["hook"].result == "delivered"
    assert (by_channel["dead"].result, by_channel["dead"].attempts) == ("failed", 3)
    assert "500" in (by_channel["dead"].error or "")
    dead = next(d for d in await records.find(notification.key) if d["channel"] == "dead")
    assert dead["status"] == "failed" and len(dead["attempts"]) == 3
    # a replay tries a failed key again, numbering on
    receivers["dead"].statuses = []
    [retry] = await deliverer(path, records).deliver([note(("dead",), key=notification.key)])
    assert (retry.result, retry.attempts) == ("delivered", 1)
    dead = next(d for d in await records.find(notification.key) if d["channel"] == "dead")
    assert dead["status"] == "delivered" and dead["attempts"][-1]["n"] == 4


async def test_the_rate_limit_delays_and_records_it(
        tmp_path: Path, receivers: dict[str, Receiver], records: MongoDeliveryLog) -> None:
    path = channel_file(tmp_path, receivers, "nobody@example.test")
    notes = [note(("hook",)) for _ in range(3)]
    started = time.monotonic()
    outcomes = await deliverer(path, records, rate=60.0, burst=1).deliver(notes)
    elapsed = time.monotonic() - started
    assert [o.result for o in outcomes] == ["delivered"] * 3
    assert len(receivers["hook"].got) == 3
    assert elapsed >= 1.9  # 60/min, burst 1: the 2nd waits ~1 s, the 3rd ~2 s
    limited = [a for n in notes[1:] for a in (await records.find(n.key))[0]["attempts"]
               if a["result"] == "rate_limited"]
    assert len(limited) == 2 and all(a["delay_s"] > 0.5 for a in limited)


async def test_cli_notify_test_sends_through_the_same_path(
        tmp_path: Path, receivers: dict[str, Receiver], database: str) -> None:
    path = channel_file(tmp_path, receivers, "nobody@example.test")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}
    env |= {"LOGWARDEN_NOTIFY__APPRISE_CONFIG": str(path), "LOGWARDEN_MONGO__URL": MONGO,
            "LOGWARDEN_MONGO__DATABASE": database}

    async def cli(*argv: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", *argv, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()

    try:
        code, out, err = await cli("notify", "test", "--tag", "hook")
        assert code == 0, err
        assert out.strip() == "hook\tdelivered\t1 attempt(s)"
        [payload] = receivers["hook"].got
        sent = orjson.loads(payload["message"])
        assert sent["kind"] == "test" and sent["routes"] == ["hook"]
        code, out, err = await cli("notify", "test", "--tag", "nosuchtag")
        assert code == 2 and "no channel" in err
    finally:
        log = MongoDeliveryLog(MONGO, database)
        await log._client.drop_database(database)
        await log.close()


class Broken:
    """A plugin notifier whose send raises (or hangs when ``hang`` is set)."""

    name = "broken"

    def __init__(self, hang: bool) -> None:
        self.hang = hang

    @classmethod
    def from_config(cls, options: dict[str, Any]) -> Broken:
        return cls(bool(options.get("hang")))

    async def send(self, notification: Notification) -> None:
        if self.hang:
            await asyncio.sleep(3600)
        raise ConnectionResetError("plugin backend went away")


async def test_a_failing_plugin_notifier_is_failed_attempts_not_a_crash(
        tmp_path: Path, receivers: dict[str, Receiver], records: MongoDeliveryLog) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(f"""version: 1
urls:
  - json://127.0.0.1:{receivers["hook"].port}/hook:
      tag: ops
      lw_channel: hook
  - lw_notifier: broken
    lw_channel: plugin-raises
    tag: ops
  - lw_notifier: broken
    lw_channel: plugin-hangs
    tag: ops
    hang: true
""")
    notification = note(("ops",))
    lookup = {"broken": Broken}
    d = deliverer(path, records, attempts=2,
                  notifiers=lambda name: lookup.get(name) or registered_notifier(name))
    d.send_timeout_s = 0.3
    outcomes = await d.deliver([notification])
    assert sorted((o.channel, o.result, o.attempts) for o in outcomes) == [
        ("hook", "delivered", 1), ("plugin-hangs", "failed", 2), ("plugin-raises", "failed", 2)]
    docs = {d["channel"]: d for d in await records.find(notification.key)}
    raised = docs["plugin-raises"]
    assert raised["status"] == "failed"
    assert [(a["n"], a["result"]) for a in raised["attempts"]] == [(1, "failed"), (2, "failed")]
    assert raised["attempts"][0]["error"] == "ConnectionResetError: plugin backend went away"
    assert docs["plugin-hangs"]["attempts"][0]["error"] == "no answer within 0.3s"
    assert len(receivers["hook"].got) == 1
