"""Every pinned version, default port and JVM heap of the dev stack, in one place.

Verified on Debian 12 (OpenJDK 17.0.15, Maven 3.8.7) against Maven Central.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Start order of the services (``down`` uses the reverse order).
SERVICE_ORDER: tuple[str, ...] = ("kafka", "elasticsearch", "mongo", "redis", "oidc", "smtp")


@dataclass(frozen=True)
class Pins:
    """Pinned artifact versions (all resolve on Maven Central)."""

    # maven-dependency-plugin, always called by full coordinates (Maven 3.8.7 would
    # otherwise pick the newest plugin, which may need a newer Maven).
    maven_dependency_plugin: str = "3.8.1"
    # Java major version every JVM service runs on (Debian's openjdk-17).
    java_major: int = 17

    # Kafka broker (KRaft combined node) + the reload4j logging backend that the
    # 3.9 tarball ships but kafka_2.13's POM does not declare.
    kafka: str = "3.9.1"
    kafka_scala: str = "2.13"
    slf4j_reload4j: str = "1.7.36"
    reload4j: str = "1.2.25"

    # Elasticsearch integ-test distribution (newest 8.19.x on Central when pinned).
    elasticsearch: str = "8.19.16"

    # MongoDB wire-protocol server (in-memory backend) + slf4j binding.
    mongo_java_server: str = "1.47.0"
    slf4j_simple: str = "2.0.17"
    # Version the launcher advertises. mongo-java-server's newest built-in one says
    # "5.0" with maxWireVersion 8, which PyMongo 4.20 rejects (it needs wire >= 9).
    mongo_reported_version: str = "6.0.0"
    mongo_wire_version: int = 17

    # OIDC provider + its runtime-only logging backend.
    mock_oauth2_server: str = "6.0.2"
    logback_classic: str = "1.5.18"


PINS = Pins()


@dataclass(frozen=True)
class Ports:
    """Default loopback ports; each is overridable by ``LOGWARDEN_DEVSTACK_<KEY>_PORT``."""

    kafka: int = 9092
    kafka_controller: int = 9093
    elasticsearch: int = 9200
    elasticsearch_transport: int = 9300
    mongo: int = 27017
    redis: int = 6380
    oidc: int = 8090
    smtp: int = 1025


DEFAULT_PORTS = Ports()


@dataclass(frozen=True)
class Heaps:
    """Explicit JVM heap sizes (the machine has 2 cores; JVMs start one by one)."""

    kafka_min: str = "256m"
    kafka_max: str = "512m"
    elasticsearch: str = "512m"
    mongo: str = "1g"  # in-memory server: holds every test database until dropped
    oidc: str = "256m"


HEAPS = Heaps()
