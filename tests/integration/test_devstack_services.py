"""Every dev-stack service, exercised for real against the running stack.

Start it first with `make up` (``python -m app.devstack up``). A service that is not
reachable makes its test FAIL, never skip.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.devstack import elasticsearch, kafka, mongo, oidc, redis, services, smtp

pytestmark = pytest.mark.integration


def require(name: str) -> str:
    """The service's endpoint, or a test failure telling how to start the stack."""
    endpoint = services.endpoints()[name]
    target = urlsplit(endpoint if "//" in endpoint else f"tcp://{endpoint}")
    host, port = target.hostname or "127.0.0.1", target.port
    assert port is not None, endpoint
    try:
        with socket.create_connection((host, port), timeout=3):
            return endpoint
    except OSError as exc:
        error = exc
    pytest.fail(
        f"{name} is not reachable at {host}:{port} ({error}); start the services with "
        f"`make up` (python -m app.devstack up)",
        pytrace=False,
    )


def test_endpoints_are_loopback_only() -> None:
    endpoints = services.endpoints()
    assert set(services.NAMES) <= set(endpoints)
    for name in services.NAMES:
        assert "127.0.0.1:" in endpoints[name], (name, endpoints[name])
    assert Path(endpoints["smtp_maildir"]).name == "Maildir"


def test_kafka_create_topic_produce_consume() -> None:
    bootstrap = require("kafka")
    assert "produce/consume ok" in kafka.roundtrip(bootstrap, timeout=15.0)


def test_elasticsearch_health_product_header_index_search() -> None:
    base = require("elasticsearch")
    assert elasticsearch.cluster_health(base).startswith("cluster ")
    index = f"devstack-test-{uuid.uuid4().hex[:12]}"
    marker = uuid.uuid4().hex
    try:
        created, headers = elasticsearch.request(
            "PUT", f"/{index}/_doc/1?refresh=true", {"message": f"hello {marker}"}, base=base
        )
        assert headers.get("x-elastic-product") == "Elasticsearch"
        assert created["result"] == "created"
        found, _ = elasticsearch.request(
            "POST", f"/{index}/_search", {"query": {"match": {"message": marker}}}, base=base
        )
        hits = found["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == ["1"]
        assert hits[0]["_source"]["message"] == f"hello {marker}"
    finally:
        elasticsearch.request("DELETE", f"/{index}", base=base)


def test_mongo_ping_insert_find() -> None:
    uri = require("mongo")
    assert "insert/find ok" in mongo.ping_insert_find(uri)


def test_redis_set_get() -> None:
    url = urlsplit(require("redis"))
    key, value = f"devstack:test:{uuid.uuid4().hex}", uuid.uuid4().hex
    assert redis.call("PING", host=url.hostname or "127.0.0.1", port_=url.port) == "PONG"
    assert redis.call("SET", key, value, "EX", "60", port_=url.port) == "OK"
    try:
        assert redis.call("GET", key, port_=url.port) == value
    finally:
        redis.call("DEL", key, port_=url.port)


def test_oidc_discovery_and_jwks() -> None:
    issuer = require("oidc")
    doc = oidc.discovery(issuer)
    assert doc["issuer"] == issuer
    assert doc["jwks_uri"].startswith(issuer)
    keys = oidc.jwks(issuer)["keys"]
    assert any(key.get("use") == "sig" for key in keys)


def test_smtp_send_and_read_back_from_maildir() -> None:
    hostport = require("smtp")
    host, _, port = hostport.rpartition(":")
    maildir = Path(services.endpoints()["smtp_maildir"])
    result = smtp.send_and_read_back(host, int(port), maildir=maildir)
    assert "read-back ok" in result
