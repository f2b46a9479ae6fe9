"""``POST /api/v1/logs`` on a real worker: tokens, size limit, per-record verdicts, Kafka to ES."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Worker, read_topic, search

pytestmark = pytest.mark.e2e


def post(url: str, body: bytes, content_type: str, token: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_gateway_accepts_json_ndjson_and_text_and_reports_dead_letters(
        isolated: dict[str, str], ingest_token: str, tmp_path: Path) -> None:
    env = isolated
    env["LOGWARDEN_INGEST__MAX_REQUEST_BYTES"] = "4096"
    marker = uuid.uuid4().hex
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    url = f"{worker.web}/api/v1/logs"
    try:
        assert post(url, b"{}", "application/json", None)[0] == 401
        assert post(url, b"{}", "application/json", "lw_wrong")[0] == 401
        status, body = post(url, b"x" * 5000, "text/plain", ingest_token)
        assert (status, body["title"]) == (413, "Payload Too Large")
        assert post(url, b"<a/>", "application/xml", ingest_token)[0] == 415

        objects = [{"service": "gw-json", "level": "info", "message": f"array one {marker}"},
                   {"service": "gw-json", "level": "error", "message": f"array two {marker}"}]
        status, body = post(url, json.dumps(objects).encode(), "application/json", ingest_token)
        assert (status, body["records"], body["dead_lettered"]) == (202, 2, [])

        ndjson = (json.dumps({"service": "gw-nd", "msg": f"nd ok {marker}"}) + "\n"
                  + '{"service": "gw-nd", "msg": "cut' + "\n\n"
                  + json.dumps({"service": "gw-nd", "msg": f"nd ok2 {marker}"}) + "\n")
        status, body = post(url, ndjson.encode(), "application/x-ndjson", ingest_token)
        assert status == 202
        assert body["accepted"] == 2
        assert [(d["index"], d["reason"]) for d in body["dead_lettered"]] == [
            (1, "malformed_json")]

        lines = (f'198.51.100.4 - - [22/Nov/2026:04:00:00 +0000] "GET /t/{marker} HTTP/1.1" '
                 f'200 10\nnot an access line {marker}\n')
        status, body = post(url + "?format=http_access&service=gw-text", lines.encode(),
                            "text/plain", ingest_token)
        assert status == 202
        assert [(d["index"], d["reason"]) for d in body["dead_lettered"]] == [
            (1, "format_mismatch")]

        prefix = env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"]
        deadline, hits = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(hits) < 5:
            hits = search(env["LOGWARDEN_ELASTICSEARCH__URL"], prefix,
                          {"query_string": {"query": f"*{marker}*",
                                            "default_field": "message"}})
            time.sleep(1)
        services = sorted(h["service"] for h in hits)
        assert services == ["gw-json", "gw-json", "gw-nd", "gw-nd", "gw-text"], worker.tail()
        assert all(h["source"]["name"] == "e2e-gateway" for h in hits)

        letters = asyncio.run(read_topic(env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"],
                                         env["LOGWARDEN_TOPICS__DLQ"], 2, 30))
        assert sorted(d["reason"] for d in letters) == ["format_mismatch", "malformed_json"]
    finally:
        worker.stop()
