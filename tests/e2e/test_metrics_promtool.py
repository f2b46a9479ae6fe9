"""``/metrics`` of a real worker: valid Prometheus exposition (``promtool check metrics``),
the pipeline's metric families present with closed label sets, and access control."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e import webstack
from tests.e2e.webstack import WebWorker, start_web_worker, stop_web_worker

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)

FAMILIES = (
    "logwarden_records_in_total", "logwarden_events_out_total",
    "logwarden_dead_letters_total", "logwarden_sink_write_seconds",
    "logwarden_message_processing_seconds", "logwarden_consumer_lag_messages",
    "logwarden_window_watermark_lag_seconds", "logwarden_alerts",
    "logwarden_notifications_sent_total", "logwarden_notifications_failed_total",
    "logwarden_web_auth_failures_total", "logwarden_web_logins_total",
)
LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})? \S+')


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `make install` installs the Debian package prometheus"
    return found


def samples(text: str, name: str) -> list[dict[str, str]]:
    found = []
    for line in text.splitlines():
        match = LINE.match(line)
        if match and match["name"] == name:
            found.append(dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or "")))
    return found


async def scrape(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{url}/metrics", headers=headers or {}) as response:
        return response.status, await response.text()


async def test_metrics_pass_promtool_and_carry_the_pipeline_families(
        web_worker: WebWorker, tmp_path: Path) -> None:
    ingest = {"Authorization": f"Bearer {web_worker.tokens['ingest']}"}
    lines = "\n".join(f'{{"ts":"2024-05-01T10:00:0{i}Z","level":"info","service":"m",'
                      f'"message":"hello {i}"}}' for i in range(5)) + "\n{broken"
    async with aiohttp.ClientSession(headers=ingest) as http, \
            http.post(f"{web_worker.url}/api/v1/logs", data=lines,
                      headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 202, await response.text()

    deadline = time.monotonic() + 60
    while True:  # until the parse agent consumed and acknowledged the records
        status, text = await scrape(web_worker.url)
        assert status == 200
        done = [s for s in samples(text, "logwarden_message_processing_seconds_count")
                if s.get("topic") == "raw"]
        lag = samples(text, "logwarden_consumer_lag_messages")
        if done and lag and "logwarden_events_out_total{" in text:
            break
        assert time.monotonic() < deadline, text[-3000:]
        time.sleep(1)

    exposition = tmp_path / "metrics.txt"
    exposition.write_text(text)
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, text=True,
                             capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "", checked.stdout  # no lint findings either

    for family in FAMILIES:
        assert f"# TYPE {family.removesuffix('_total')}" in text, family
    assert {s["topic"] for s in lag} <= {"raw", "events", "dlq", "windows_closed"}
    assert {"topic": "raw", "partition": "0"} in lag
    assert {s["agent"] for s in samples(text, "logwarden_records_in_total")} >= {"gateway"}
    dead = samples(text, "logwarden_dead_letters_total")
    assert {"stage": "parse", "reason": "malformed_json"} in dead, dead
    reasons = {s["reason"] for s in samples(text, "logwarden_web_auth_failures_total")}
    assert reasons == {"unauthenticated", "bad_token", "forbidden", "csrf"}


@pytest.fixture()
def private_metrics(tmp_path: Path, kafka_bootstrap: str, es_url: str) -> Iterator[WebWorker]:
    web = start_web_worker(tmp_path, kafka_bootstrap, es_url,
                           {"LOGWARDEN_WEB__METRICS_PUBLIC": "false"})
    try:
        yield web
    finally:
        stop_web_worker(web)


async def test_metrics_can_require_authentication(private_metrics: WebWorker) -> None:
    web = private_metrics
    assert (await scrape(web.url))[0] == 401
    ingest_only = {"Authorization": f"Bearer {web.tokens['ingest']}"}
    assert (await scrape(web.url, ingest_only))[0] == 403
    status, text = await scrape(web.url, {"Authorization": f"Bearer {web.tokens['read']}"})
    assert status == 200 and "logwarden_dead_letters_total" in text
    async with aiohttp.ClientSession() as http, \
            http.get(f"{web.url}/health") as response:
        assert response.status == 200  # still public
