"""A document Elasticsearch refuses for good is a dead letter, never a silent drop."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Worker, produce, read_topic, search

pytestmark = pytest.mark.e2e


def test_mapping_rejection_goes_to_dlq_and_the_rest_is_indexed(
        isolated: dict[str, str], tmp_path: Path) -> None:
    env = isolated
    bootstrap = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"]
    marker = uuid.uuid4().hex
    good = {"event_id": f"good-{marker}", "ts": "2026-11-22T05:00:00.000Z",
            "service": "billing", "message": f"fine {marker}", "http": {"status": 200}}
    # a plain producer wrote a status that is not a number: the index mapping says short
    bad = {"event_id": f"bad-{marker}", "ts": "2026-11-22T05:00:00.000Z",
           "service": "billing", "message": f"broken {marker}", "http": {"status": "teapot"}}

    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        asyncio.run(produce(bootstrap, env["LOGWARDEN_TOPICS__EVENTS"],
                            [(b"billing", json.dumps([good, bad]).encode(), [])]))
        letters = asyncio.run(read_topic(bootstrap, env["LOGWARDEN_TOPICS__DLQ"], 1, 60))
        assert len(letters) == 1, f"no dead letter; worker log:\n{worker.tail()}"
        letter = letters[0]
        assert (letter["stage"], letter["reason"]) == ("index", "index_rejected")
        assert "mapper_parsing_exception" in letter["error"] or "400" in letter["error"]
        assert json.loads(letter["original"])["event_id"] == f"bad-{marker}"
        assert letter["source"]["topic"] == env["LOGWARDEN_TOPICS__EVENTS"]

        prefix = env["LOGWARDEN_ELASTICSEARCH__INDEX_PREFIX"]
        deadline, hits = time.monotonic() + 30, []
        while time.monotonic() < deadline and not hits:
            hits = search(env["LOGWARDEN_ELASTICSEARCH__URL"], prefix,
                          {"match": {"message": marker}})
            time.sleep(0.5)
        assert [h["_id"] for h in hits] == [f"good-{marker}"]
    finally:
        worker.stop()
