"""Shared fixtures. Service-backed tests FAIL (never skip) when a service is missing."""

from __future__ import annotations

import os
import socket

import pytest

KAFKA = os.environ.get("LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
ELASTICSEARCH = os.environ.get("LOGWARDEN_ELASTICSEARCH__URL", "http://127.0.0.1:9200")


def require_tcp(name: str, hostport: str) -> None:
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            return
    except OSError as exc:
        pytest.fail(f"{name} is not reachable at {hostport} ({exc}); start the services "
                    f"with `make up` (CI must provide every service: tests never skip)",
                    pytrace=False)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    require_tcp("Kafka", KAFKA)
    return KAFKA


@pytest.fixture(scope="session")
def es_url() -> str:
    require_tcp("Elasticsearch", ELASTICSEARCH.split("//", 1)[1].rstrip("/"))
    return ELASTICSEARCH
