"""Apache Kafka, single KRaft combined broker+controller node, from Maven Central."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import uuid
from pathlib import Path

from app.devstack import maven
from app.devstack.base import Service
from app.devstack.config import HOST, DevstackError, display, port
from app.devstack.system import java
from app.devstack.versions import HEAPS, PINS

READY_LINE = "Kafka Server started"

LOG4J = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
"""


def bootstrap() -> str:
    return f"{HOST}:{port('kafka')}"


def roundtrip(bootstrap_servers: str | None = None, timeout: float = 15.0) -> str:
    """Create a unique topic, produce one message and consume it back (aiokafka)."""
    return asyncio.run(_roundtrip(bootstrap_servers or bootstrap(), timeout))


async def _roundtrip(servers: str, timeout: float) -> str:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"devstack-check-{uuid.uuid4().hex[:12]}"
    payload = uuid.uuid4().hex.encode()
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=5000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=servers, request_timeout_ms=5000)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, payload), timeout)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        try:
            msg = await asyncio.wait_for(consumer.getone(), timeout)
        finally:
            await consumer.stop()
        if msg.value != payload:
            raise RuntimeError(f"consumed {msg.value!r}, expected {payload!r}")
        return f"topic {topic} produce/consume ok"
    finally:
        with contextlib.suppress(Exception):  # cleanup is best effort
            await admin.delete_topics([topic])
        await admin.close()


class Kafka(Service):
    name = "kafka"
    port_keys = ("kafka", "kafka_controller")
    start_timeout = 90.0

    @property
    def libs(self) -> Path:
        return self.layout.dist / f"kafka-{PINS.kafka}" / "libs"

    def endpoint(self) -> str:
        return bootstrap()

    def server_properties(self) -> str:
        broker, controller = port("kafka"), port("kafka_controller")
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{HOST}:{controller}",
                f"listeners=PLAINTEXT://{HOST}:{broker},CONTROLLER://{HOST}:{controller}",
                f"advertised.listeners=PLAINTEXT://{HOST}:{broker}",
                "inter.broker.listener.name=PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                "num.partitions=1",
                "default.replication.factor=1",
                "min.insync.replicas=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "",
            ]
        )

    def jvm_options(self) -> list[str]:
        return [
            f"-Xms{HEAPS.kafka_min}",
            f"-Xmx{HEAPS.kafka_max}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.run_dir / 'log4j.properties'}",
            "-cp",
            f"{self.libs}/*",
        ]

    def prepare(self) -> None:
        if not self.libs.is_dir():
            deps = [
                maven.Artifact("org.apache.kafka", f"kafka_{PINS.kafka_scala}", PINS.kafka),
                maven.Artifact("org.slf4j", "slf4j-reload4j", PINS.slf4j_reload4j),
                maven.Artifact("ch.qos.reload4j", "reload4j", PINS.reload4j),
            ]
            maven.copy_dependencies(self.layout, self.name, deps, self.libs)
        props = self.run_dir / "server.properties"
        props.write_text(self.server_properties())
        (self.run_dir / "log4j.properties").write_text(LOG4J)
        if not (self.data_dir / "meta.properties").exists():
            self._format(props)

    def _format(self, props: Path) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        argv = [
            java(),
            *self.jvm_options(),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(props),
            "--ignore-formatted",
        ]
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        log = self.run_dir / "format.log"
        log.write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            last = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
            raise DevstackError(
                f"kafka: storage format failed (exit {out.returncode}, log {display(log)}):\n{last}"
            )

    def command(self) -> list[str]:
        return [java(), *self.jvm_options(), "kafka.Kafka", str(self.run_dir / "server.properties")]

    def started(self) -> bool:
        return self.log_contains(READY_LINE)

    def check(self) -> str:
        return roundtrip(bootstrap(), timeout=10.0)
