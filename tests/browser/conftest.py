"""Browser tests: headless Chromium (Debian ``chromium``) against a real worker.

One worker per module (parse, index, aggregate, tail agents; 10 s windows) in its own
topics, index prefix, MongoDB database, Redis database and port, fed by
``logwarden generate`` for the whole module. The browser logs in through the dev
stack's OIDC provider (``tests/oidc_login.py`` describes its form). Screenshots go to
``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from redis import Redis

from tests.e2e.conftest import Worker, es_call, produce
from tests.e2e.webstack import OIDC_ISSUER, WebWorker, start_web_worker, stop_web_worker
from tests.oidc_login import CLAIMS_FIELD, USERNAME_FIELD

CHROMIUM = os.environ.get("LOGWARDEN_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
T = TypeVar("T")
REDIS_DB = 13  # the window cache's keys are not prefixed per run: a database of our own
REDIS_URL = f"redis://127.0.0.1:6380/{REDIS_DB}"


@dataclass
class Stack:
    web: WebWorker

    @property
    def worker(self) -> Worker:
        return self.web.worker

    @property
    def env(self) -> dict[str, str]:
        return self.web.env

    @property
    def run(self) -> str:
        return self.web.database

    @property
    def read_token(self) -> str:
        return self.web.tokens["read"]

    @property
    def url(self) -> str:
        return self.worker.web

    def send(self, records: list[dict[str, Any]]) -> None:
        """Produce JSON log lines to the run's raw topic."""
        lines = [(b"", json.dumps(r).encode(), []) for r in records]
        in_thread(lambda: produce(self.env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
                                  self.env["LOGWARDEN_TOPICS__RAW"], lines))


def in_thread(make: Callable[[], Awaitable[T]], timeout: float = 90) -> T:
    """Run a coroutine to completion in a thread of its own: Playwright's sync API keeps
    an event loop in the test's thread, so ``asyncio.run`` cannot run there."""
    result: list[T] = []
    failure: list[BaseException] = []

    async def main() -> T:
        return await make()

    def work() -> None:
        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout)
    if failure:
        raise failure[0]
    if not result:
        raise AssertionError(f"no result within {timeout:.0f}s")
    return result[0]


def probe(marker: str) -> dict[str, Any]:
    """An error line whose message is markup (log text is attacker-controlled)."""
    return {"ts": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
            "service": "xss-probe", "level": "error",
            "message": f"<script>document.body.dataset.xss='script'</script>"
                       f"<img src=x onerror=\"document.body.dataset.xss='img'\"> {marker}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str,
          es_url: str) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    tmp = tmp_path_factory.mktemp("browser")
    web = start_web_worker(tmp, kafka_bootstrap, es_url, {
        "LOGWARDEN_KAFKA__PARTITIONS": "2",
        "LOGWARDEN_WORKER__AGENTS": '["parse", "index", "aggregate", "tail"]',
        "LOGWARDEN_REDIS__URL": REDIS_URL,
        "LOGWARDEN_WINDOWS__SERVICE_SIZES_S": "[10, 60]",
        "LOGWARDEN_WINDOWS__GRACE_S": "2",
        "LOGWARDEN_DASHBOARD__REFRESH_S": "2",
        "LOGWARDEN_DASHBOARD__CACHE_TTL_S": "1",
    })
    prefix = web.env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"]
    generator: subprocess.Popen[bytes] | None = None
    try:
        with (tmp / "generate.log").open("wb") as out:
            generator = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "generate", "--rate", "40",
                 "--duration", "600"], env=web.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        yield Stack(web)
    finally:
        if generator is not None:
            generator.terminate()
            generator.wait(10)
        stop_web_worker(web)
        if ARTIFACTS.is_dir() and web.worker.log.exists():
            shutil.copy(web.worker.log, ARTIFACTS / "worker.log")
        es_call("DELETE", f"{es_url}/_index_template/{prefix}")
        Redis.from_url(REDIS_URL).flushdb()  # the run's own database (windows, sessions)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    """Chromium; after ``stack`` (whose set-up uses ``asyncio.run``, which cannot run
    once Playwright's sync API holds the thread's event loop)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def log_in(page: Any, base: str, username: str, roles: list[str], next_path: str) -> None:
    """The real flow: /login -> the provider's form -> /auth/callback -> ``next_path``."""
    from urllib.parse import urlencode

    page.goto(f"{base}/login?" + urlencode({"next": next_path}))
    page.wait_for_selector(f'input[name="{USERNAME_FIELD}"]', timeout=15_000)
    assert page.url.startswith(OIDC_ISSUER), page.url  # at the provider, not a shortcut
    page.fill(f'input[name="{USERNAME_FIELD}"]', username)
    page.fill(f'textarea[name="{CLAIMS_FIELD}"]',
              json.dumps({"roles": roles, "name": username.title()}))
    page.click('input[type="submit"]')
    page.wait_for_url(f"{base}{next_path}", timeout=15_000)
    if hasattr(page, "js_errors"):
        page.js_errors.clear()  # the provider's form loads assets of its own; ours count


@pytest.fixture()
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.js_errors = errors
    try:
        yield tab
    finally:
        context.close()


def wait_until(check: Any, timeout: float, step: float = 1.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)
