"""The walking skeleton, end to end on the real services.

A real worker process (``logwarden worker``) runs against the dev stack's Kafka and
Elasticsearch, in its own topics, consumer group and index prefix. A plain Kafka
producer writes raw lines; the test asserts that the good ones are searchable in
Elasticsearch and the malformed one is in the dead-letter topic with its reason.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from app.core.ids import event_id
from tests.e2e.conftest import Worker, produce, read_topic, search

pytestmark = pytest.mark.e2e


def test_raw_lines_become_searchable_and_bad_line_goes_to_dlq(
        isolated: dict[str, str], tmp_path: Path) -> None:
    env = isolated
    bootstrap = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"]
    es_url = env["LOGWARDEN_ELASTICSEARCH__URL"]
    prefix = env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"]
    marker = uuid.uuid4().hex
    good_json = json.dumps({"@timestamp": "2026-11-22T04:00:00Z", "level": "error",
                            "service": "checkout", "message": f"payment timeout {marker}",
                            "http": {"method": "POST", "path": "/api/checkout",
                                     "status": 504, "latency_ms": 3012.5}}).encode()
    access = (f'203.0.113.7 - - [22/Nov/2026:04:00:01 +0000] "GET /search?q={marker} HTTP/1.1" '
              f'200 512 "-" "curl/8.4.0"').encode()
    bad = b'{"service": "checkout", "message": "cut off'

    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        positions = asyncio.run(produce(bootstrap, env["LOGWARDEN_TOPICS__RAW"], [
            (b"checkout-app", good_json, []),
            (b"web-1", access, [("service", b"web-frontend")]),
            (b"bad-producer", bad, []),
        ]))

        deadline, hits = time.monotonic() + 90, []
        while time.monotonic() < deadline and len(hits) < 2:
            hits = search(es_url, prefix, {"match": {"message": marker}})
            time.sleep(1)
        assert len(hits) == 2, f"documents not searchable; worker log:\n{worker.tail()}"
        by_service = {h["service"]: h for h in hits}
        checkout = by_service["checkout"]
        assert checkout["severity_text"] == "error" and checkout["http"]["status"] == 504
        partition, offset = positions[0]
        assert checkout["_id"] == event_id(env["LOGWARDEN_TOPICS__RAW"], partition, offset, 0)
        assert by_service["web-frontend"]["http"]["client_ip"] == "203.0.113.7"
        # searchable by structured fields too, not only full text
        assert search(es_url, prefix, {"bool": {"filter": [
            {"term": {"service": "checkout"}}, {"range": {"http.status": {"gte": 500}}}]}})

        letters = asyncio.run(read_topic(bootstrap, env["LOGWARDEN_TOPICS__DLQ"], 1, 30))
        assert len(letters) == 1, f"expected one dead letter; worker log:\n{worker.tail()}"
        letter = letters[0]
        assert (letter["stage"], letter["reason"], letter["parser"]) == (
            "parse", "malformed_json", "json")
        assert letter["original"].encode() == bad
        assert (letter["source"]["partition"], letter["source"]["offset"]) == positions[2]
    finally:
        worker.stop()
