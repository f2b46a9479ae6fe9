"""Helpers shared by the alerting and notification end-to-end tests: a JSON webhook
receiver (aiohttp, its own thread), the SMTP sink's Maildir, generated traffic with
incidents, reading a topic whole, and silences through the command line."""

from __future__ import annotations

import asyncio
import mailbox
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from app.devstack.smtp import maildir_path
from tests.e2e.conftest import free_port, read_topic

#: short windows and alert clocks: 10 s service windows, 1 s grace, quick idle closing
FAST_ALERTING = {
    "LOGWARDEN_WINDOWS__SERVICE_SIZES_S": "[10]",
    "LOGWARDEN_WINDOWS__ROUTE_SIZES_S": "[]",
    "LOGWARDEN_WINDOWS__GRACE_S": "1",
    "LOGWARDEN_WINDOWS__IDLE_AFTER_S": "3",
    "LOGWARDEN_WINDOWS__CLOSE_INTERVAL_S": "0.5",
    "LOGWARDEN_WINDOWS__SILENT_AFTER_S": "600",
    "LOGWARDEN_WINDOWS__BATCH_WAIT_S": "0.2",
    "LOGWARDEN_ALERTING__GRACE_S": "1",
    "LOGWARDEN_ALERTING__IDLE_AFTER_S": "3",
    "LOGWARDEN_ALERTING__TICK_INTERVAL_S": "0.5",
}


class Webhook:
    """An aiohttp JSON receiver on its own thread and event loop: ``got`` holds the
    bodies posted to ``/hook`` and ``at`` the wall time each arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.got: list[dict[str, Any]] = []
        self.at: list[float] = []
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        self.got.append(await request.json())
        self.at.append(time.time())
        return web.Response(text="ok")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        webapp = web.Application()
        webapp.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(webapp)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())

    def __enter__(self) -> Webhook:
        self._thread.start()
        assert self._started.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def channels_file(path: Path, rcpt: str, hook: Webhook, tags: str = "ops") -> Path:
    """An Apprise channels file: the SMTP sink (mail to ``rcpt``) and ``hook``."""
    path.write_text(f"""version: 1
urls:
  - mailto://127.0.0.1:1025?mode=insecure&from=logwarden@example.test&to={rcpt}:
      tag: {tags}, email
      lw_channel: ops-email
  - {hook.url}:
      tag: {tags}, webhook
      lw_channel: ops-webhook
""")
    return path


def mails_to(rcpt: str) -> list[mailbox.MaildirMessage]:
    box = mailbox.Maildir(str(maildir_path()), create=False)
    return [box[key] for key in box.iterkeys() if rcpt.encode() in box.get_bytes(key)]


def plain_text(mail: mailbox.MaildirMessage) -> str:
    """The first (text/plain) part of the mail, decoded."""
    part: Any = mail.get_payload()[0] if mail.is_multipart() else mail  # type: ignore[index]
    return str(part.get_payload(decode=True).decode())


def remove_mails_to(rcpt: str) -> None:
    """Our own mails only: other tests share the sink."""
    box = mailbox.Maildir(str(maildir_path()), create=False)
    for key in [k for k in box.iterkeys() if rcpt.encode() in box.get_bytes(k)]:
        box.remove(key)


def generate(env: dict[str, str], seconds: float, incidents: list[str],
             rate: float = 150) -> subprocess.Popen[bytes]:
    """``logwarden generate`` in the background (no bad lines), with ``incidents``."""
    args = [sys.executable, "-m", "app.cli", "generate", "--rate", str(rate), "--duration",
            str(seconds), "--bad-fraction", "0"]
    for incident in incidents:
        args += ["--incident", incident]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def topic(env: dict[str, str], name: str, timeout: float = 3) -> list[dict[str, Any]]:
    """Every message of the topic named by setting ``name`` (an env key), decoded."""
    return asyncio.run(read_topic(env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"], env[name], 10**6,
                                  timeout))


def transitions(env: dict[str, str]) -> list[dict[str, Any]]:
    return topic(env, "LOGWARDEN_TOPICS__ALERTS_TRANSITIONS")


def notices(env: dict[str, str]) -> list[dict[str, Any]]:
    return topic(env, "LOGWARDEN_TOPICS__NOTIFICATIONS_OUTBOX")


def silence(env: dict[str, str], *matchers: str) -> str:
    """``logwarden silence add`` for an hour; returns the silence id it prints."""
    out = subprocess.run([sys.executable, "-m", "app.cli", "silence", "add", *matchers,
                          "--duration", "1h", "--comment", "e2e", "--by", "tester"],
                         env=env, capture_output=True, check=True, timeout=60)
    return out.stdout.decode().strip()
