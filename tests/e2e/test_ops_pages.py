"""The operators' pipeline views against a real worker (parse agent), Kafka and MongoDB:

- dead letters: a malformed line lands in ``logs.dlq``, ``/api/v1/dlq`` and ``/dlq``
  list it (admins only), replay puts its original bytes back on ``logs.raw`` with the
  source's key and headers (checked on the topic), a second replay is refused as already
  replayed and a forced one is counted; the page's replay form needs the CSRF token;
- ``/api/v1/pipeline``: the parse agent's counts, the group's committed offsets and lag,
  dead letters by reason, the newest closed window per service from MongoDB;
- services: an admin token sets a service's team/owner/tier, a read token may not, an
  admin session edits through the page's form.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from app.adapters.service_registry import MongoServiceRegistry
from app.adapters.window_store import MongoWindowStore
from tests.e2e import webstack
from tests.e2e.conftest import produce
from tests.e2e.webstack import MONGO_URL, WebWorker
from tests.oidc_login import csrf_token, login, oidc_session

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(http: aiohttp.ClientSession, url: str, token: str,
                   status: int = 200) -> Any:
    async with http.get(url, headers=bearer(token)) as response:
        assert response.status == status, await response.text()
        return await response.json(content_type=None)


async def poll(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(1)


async def record_at(bootstrap: str, topic: str, partition: int, offset: int) -> Any:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return await asyncio.wait_for(consumer.getone(), 20)
    finally:
        await consumer.stop()


async def letters_of(http: aiohttp.ClientSession, web: WebWorker, marker: str
                     ) -> list[dict[str, Any]]:
    body = await get_json(http, f"{web.url}/api/v1/dlq?reason=malformed_json",
                          web.tokens["admin"])
    return [d for d in body["letters"] if marker in d["original"]]


async def test_malformed_line_is_listed_and_replayed_to_raw(web_worker: WebWorker) -> None:
    env, base = web_worker.env, web_worker.url
    bootstrap, raw = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"], env["LOGWARDEN_TOPICS__RAW"]
    marker = uuid.uuid4().hex
    line = f'{{"service": "dlq-{marker}", "message": "unterminated'.encode()
    [(src_partition, src_offset)] = await produce(
        bootstrap, raw, [(b"src-" + marker.encode(), line, [("format", b"json")])])

    async with aiohttp.ClientSession() as http:
        found = await poll(lambda: letters_of(http, web_worker, marker), 60,
                           "the malformed line in the DLQ")
        [letter] = found
        assert letter["stage"] == "parse" and letter["reason"] == "malformed_json"
        assert letter["original"] == line.decode()
        assert letter["source"]["topic"] == raw
        assert (letter["source"]["partition"], letter["source"]["offset"]) == (
            src_partition, src_offset)
        assert letter["replayable"] and letter["replay"] is None

        # only admins: a read token is refused, as is an unauthenticated call
        await get_json(http, f"{base}/api/v1/dlq", web_worker.tokens["read"], 403)
        async with http.post(f"{base}/api/v1/dlq/replay", json={"ids": [letter["id"]]},
                             headers=bearer(web_worker.tokens["read"])) as response:
            assert response.status == 403

        admin = bearer(web_worker.tokens["admin"])
        async with http.post(f"{base}/api/v1/dlq/replay", headers=admin,
                             json={"ids": [letter["id"], "0-999999999", "x"]}) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        first, missing, invalid = body["results"]
        assert body["replayed"] == 1
        assert first["status"] == "replayed" and first["replays"] == 1
        assert missing["status"] == "missing" and invalid["status"] == "invalid"
        target = first["target"]
        assert target["topic"] == raw

        # on the topic: the original bytes, the source's key and headers, marked as replay
        record = await record_at(bootstrap, raw, target["partition"], target["offset"])
        assert record.value == line
        assert record.key == b"src-" + marker.encode()
        headers = dict(record.headers)
        assert headers["format"] == b"json"
        assert headers["lw-replay-of"] == letter["id"].encode()

        # the parse agent takes it again (the parser is not fixed: a new dead letter,
        # pointing at the replayed message)
        again = await poll(lambda: _at(http, web_worker, marker, target["offset"]), 60,
                           "the replayed line dead-lettered again")
        assert again["source"]["partition"] == target["partition"]

        # a second replay is refused and says so; forced, it goes and is counted
        async with http.post(f"{base}/api/v1/dlq/replay", headers=admin,
                             json={"ids": [letter["id"]]}) as response:
            [second] = (await response.json())["results"]
        assert second["status"] == "already_replayed"
        assert "already replayed by web-admin" in second["detail"]
        async with http.post(f"{base}/api/v1/dlq/replay", headers=admin,
                             json={"ids": [letter["id"]], "force": True}) as response:
            [forced] = (await response.json())["results"]
        assert forced["status"] == "replayed" and forced["replays"] == 2
        [listed] = [d for d in await letters_of(http, web_worker, marker)
                    if d["id"] == letter["id"]]
        assert listed["replay"]["count"] == 2 and listed["replay"]["last_by"] == "web-admin"

        for bad in ({}, {"ids": []}, {"ids": "0-1"}, {"ids": ["0-1"], "force": "yes"}):
            async with http.post(f"{base}/api/v1/dlq/replay", headers=admin,
                                 json=bad) as response:
                assert response.status == 400, bad

    # the page: admins see the letter (escaped) and replay through the CSRF form
    async with oidc_session() as http:
        await login(http, base, "vera", ["viewer"])
        async with http.get(f"{base}/dlq") as response:
            assert response.status == 403
    async with oidc_session() as http:
        await login(http, base, "ada", ["admin"])
        async with http.get(f"{base}/dlq?stage=parse") as response:
            assert response.status == 200
            html = await response.text()
        assert f'data-id="{letter["id"]}"' in html
        assert "&#34;unterminated" in html or "&quot;unterminated" in html
        async with http.post(f"{base}/dlq/replay", data={"id": letter["id"]},
                             allow_redirects=False) as response:
            assert response.status == 403  # no CSRF token
        token = await csrf_token(http, base)
        async with http.post(f"{base}/dlq/replay", data={"id": letter["id"], "_csrf": token},
                             allow_redirects=True) as response:
            assert response.status == 200
            assert "already replayed by web-admin" in await response.text()


async def _at(http: aiohttp.ClientSession, web: WebWorker, marker: str,
              offset: int) -> dict[str, Any] | None:
    return next((d for d in await letters_of(http, web, marker)
                 if d["source"]["offset"] == offset), None)


async def test_pipeline_reports_agents_lag_dead_letters_and_watermarks(
        web_worker: WebWorker) -> None:
    env, base = web_worker.env, web_worker.url
    bootstrap, raw = env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"], env["LOGWARDEN_TOPICS__RAW"]
    now = time.time()
    service = f"wm-{uuid.uuid4().hex[:6]}"
    store = MongoWindowStore(MONGO_URL, web_worker.database)
    try:
        await store.upsert([{"_id": f"{service}||60|{now - 120:.0f}", "service": service,
                             "route": None, "granularity_s": 60, "start": now - 120,
                             "end": now - 60, "count": 3}])
    finally:
        await store.close()
    await produce(bootstrap, raw, [(b"", b'{"service": "pipe", "message": "ok"}', []),
                                   (b"", b'{"broken', [("format", b"json")])])

    async with aiohttp.ClientSession() as http:
        async def ready() -> Any:
            state = await get_json(http, f"{base}/api/v1/pipeline", web_worker.tokens["read"])
            lag = [r for r in state["lag"] or [] if r["topic"] == raw]
            parse = [a for a in state["agents"] if a["agent"] == "parse"]
            return state if lag and lag[0]["committed"] and parse else None
        state = await poll(ready, 60, "committed offsets of the parse agent")
        assert state["problems"] == []
        assert state["group"] == env["LOGWARDEN_WORKER__APP_ID"]
        [parse] = [a for a in state["agents"] if a["agent"] == "parse"]
        assert parse["records_in"] >= 2 and parse["events_out"] >= 1
        [lag] = [r for r in state["lag"] if r["topic"] == raw]
        assert lag["end"] >= 2 and lag["lag"] == lag["end"] - lag["committed"] >= 0
        assert lag["group"] == env["LOGWARDEN_WORKER__APP_ID"] + "-parse"  # agents.parse
        reasons = {r["reason"]: r for r in state["dead_letters"]["by_reason"]}
        assert reasons["malformed_json"]["last_5m"] >= 1
        marks = {w["service"]: w for w in state["watermarks"]["closed_windows"]}
        assert marks[service]["granularity_s"] == 60
        assert 55 <= marks[service]["behind_s"] <= 600
        assert state["sinks"] == []  # this worker runs no sink

        await asyncio.sleep(5.5)  # rates need two reads at least 5 s apart
        again = await get_json(http, f"{base}/api/v1/pipeline", web_worker.tokens["read"])
        [parse] = [a for a in again["agents"] if a["agent"] == "parse"]
        assert parse["in_per_s"] is not None and parse["rate_over_s"] >= 5
        await get_json(http, f"{base}/api/v1/pipeline", web_worker.tokens["ingest"], 403)

    async with oidc_session() as http:
        await login(http, base, "vic", ["viewer"])
        async with http.get(f"{base}/pipeline") as response:
            assert response.status == 200
            html = await response.text()
        assert 'data-agent="parse"' in html and f'data-service="{service}"' in html
        assert 'href="/dlq' not in html  # viewers do not get the DLQ link


async def test_services_metadata_edited_by_admins_only(web_worker: WebWorker) -> None:
    base = web_worker.url
    name = f"svc-{uuid.uuid4().hex[:6]}"
    url = f"{base}/api/v1/services/{name}/meta"
    async with aiohttp.ClientSession() as http:
        async with http.put(url, headers=bearer(web_worker.tokens["admin"]),
                            json={"team": "payments", "owner": "alice", "tier": "1"}
                            ) as response:
            assert response.status == 200, await response.text()
            saved = await response.json()
        assert saved["team"] == "payments" and saved["env"] is None and saved["updated_at"]
        async with http.put(url, headers=bearer(web_worker.tokens["read"]),
                            json={"team": "x"}) as response:
            assert response.status == 403
        for bad in ({"team": 5}, {"colour": "red"}, ["team"], {"owner": "x" * 101}):
            async with http.put(url, headers=bearer(web_worker.tokens["admin"]),
                                json=bad) as response:
                assert response.status == 400, bad
    registry = MongoServiceRegistry(MONGO_URL, web_worker.database)
    try:
        info = (await registry.load())[name]
    finally:
        await registry.close()
    assert (info.team, info.owner, info.tier) == ("payments", "alice", "1")

    async with oidc_session() as http:
        await login(http, base, "vic", ["viewer"])
        async with http.get(f"{base}/services") as response:
            html = await response.text()
        assert f'data-service="{name}"' in html and "payments" in html
        assert 'action="/services"' not in html  # read-only
        token = await csrf_token(http, base)
        async with http.post(f"{base}/services", allow_redirects=False,
                             data={"_csrf": token, "service": name, "team": "x"}) as response:
            assert response.status == 403
    async with oidc_session() as http:
        await login(http, base, "ada", ["admin"])
        token = await csrf_token(http, base)
        async with http.post(f"{base}/services", data={
                "_csrf": token, "service": name, "team": "checkout", "owner": "bob",
                "tier": "2", "env": ""}) as response:
            assert response.status == 200
            assert f"{name} saved" in await response.text()
    registry = MongoServiceRegistry(MONGO_URL, web_worker.database)
    try:
        info = (await registry.load())[name]
    finally:
        await registry.close()
    assert (info.team, info.owner, info.tier, info.env) == ("checkout", "bob", "2", None)
