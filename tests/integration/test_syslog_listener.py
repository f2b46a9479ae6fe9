"""The syslog listener against the real Kafka of the dev stack, fed by util-linux ``logger``.

Start the stack first with `make up`; without Kafka these tests FAIL, never skip.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from app.core.errors import Reason
from app.core.events import LogEvent
from app.core.ingest import IngestLimits, RawMessage, ingest_message, split_records
from app.core.parsing import FormatDetector, RecordContext
from app.core.parsing.syslog import SyslogParser
from app.ingest.syslog_listener import SyslogListener, add_cli_parser
from app.settings import load_settings

pytestmark = pytest.mark.integration
LOOPBACK = "127.0.0.1"


async def create_topic(bootstrap: str) -> str:
    topic = f"test-syslog-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return topic


async def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


@pytest.fixture
async def topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    name = await create_topic(kafka_bootstrap)
    yield name
    await delete_topic(kafka_bootstrap, name)


def make_listener(bootstrap: str, topic: str, **kwargs: Any) -> SyslogListener:
    settings = load_settings(topics={"raw": topic}, kafka={"bootstrap_servers": bootstrap})
    return SyslogListener(settings, LOOPBACK, udp_port=0, tcp_port=0, **kwargs)


@pytest.fixture
async def listener(kafka_bootstrap: str, topic: str) -> AsyncIterator[SyslogListener]:
    running = make_listener(kafka_bootstrap, topic, max_message_bytes=1024)
    await running.start()
    yield running
    await running.stop()


Records = list[tuple[Any, bytes]]  # (Kafka record, one syslog message)


async def consume(bootstrap: str, topic: str, done: Callable[[Records], bool],
                  timeout: float = 30.0) -> Records:
    """Records of ``topic`` split into messages, until ``done`` says enough."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got: Records = []
    try:
        async with asyncio.timeout(timeout):
            while not done(got):
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for record in batch:
                        got.extend((record, line if isinstance(line, bytes) else line.encode())
                                   for line in split_records(raw(record)))
    except TimeoutError:
        pytest.fail(f"timed out after {timeout}s; got {[line for _, line in got]}")
    finally:
        await consumer.stop()
    return got


def raw(record: Any) -> RawMessage:
    return RawMessage(value=record.value, key=record.key,
                      headers={k: v.decode() for k, v in record.headers}, topic=record.topic,
                      partition=record.partition, offset=record.offset,
                      timestamp=record.timestamp / 1000)


def parse(record: Any, line: bytes) -> LogEvent:
    ctx = RecordContext(event_id="e", observed_ts=record.timestamp / 1000, service=None,
                        source_name=record.key.decode())
    return SyslogParser().parse(line.decode().strip(), ctx)


def headers(record: Any) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


async def logger(port: int, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "logger", "--server", LOOPBACK, "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()


@pytest.mark.parametrize("flags", [
    ("--udp", "--rfc5424"),
    ("--udp", "--rfc3164"),
    ("--tcp", "--octet-count", "--rfc5424"),
    ("--tcp", "--octet-count", "--rfc3164"),
    ("--tcp", "--rfc5424"),
    ("--tcp", "--rfc3164"),
], ids=lambda flags: " ".join(flags))
async def test_logger_messages_reach_kafka(listener: SyslogListener, kafka_bootstrap: str,
                                           topic: str, flags: tuple[str, ...]) -> None:
    port = listener.udp_port if "--udp" in flags else listener.tcp_port
    assert port
    texts = [f"hello {uuid.uuid4().hex} n={i}" for i in range(3)]
    extra = (["--msgid", "M42", "--sd-id", "zoo@32473", "--sd-param", 'tiger="hungry"']
             if "--rfc5424" in flags else [])
    for text in texts:
        await logger(port, *flags, "-p", "local3.err", "-t", "lw-test", "--id=4242", *extra,
                     text)
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= len(texts))
    assert len(got) == len(texts)
    events = []
    for record, line in got:
        assert record.key == LOOPBACK.encode()
        assert headers(record) == {"format": "syslog", "source_type": "syslog",
                                   "lw-batch": "lines"}
        events.append(parse(record, line))
    assert [e.message for e in events] == texts
    for event in events:
        assert event.parser == ("syslog5424" if "--rfc5424" in flags else "syslog3164")
        assert (event.severity_text, event.severity_number) == ("err", 17)
        assert event.attrs["facility"] == "local3"
        assert event.attrs["program"] == event.service == "lw-test"
        assert event.attrs["pid"] == 4242
        assert event.host
        if "--rfc5424" in flags:
            assert event.attrs["msgid"] == "M42"
            assert event.attrs["sd"]["zoo@32473"] == {"tiger": "hungry"}


@pytest.mark.parametrize("transport", ["--udp", "--tcp"])
async def test_multiline_message_is_one_record(listener: SyslogListener, kafka_bootstrap: str,
                                               topic: str, transport: str) -> None:
    port = listener.udp_port if transport == "--udp" else listener.tcp_port
    assert port
    text = f"Traceback {uuid.uuid4().hex}\n  File x.py, line 1\nZeroDivisionError"
    await logger(port, transport, "--octet-count", "--rfc5424", "-t", "py", text)
    await logger(port, transport, "--octet-count", "--rfc5424", "-t", "py", "after")
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= 2)
    (first, line1), (second, line2) = got
    assert "lw-batch" not in headers(first)  # sent alone: the newlines stay inside
    assert headers(first)["format"] == "syslog"
    assert parse(first, line1).message == text
    assert parse(second, line2).message == "after"


async def test_batches_per_sender_keep_order(listener: SyslogListener, kafka_bootstrap: str,
                                             topic: str) -> None:
    assert listener.udp_port
    lines = [f"<14>Nov 22 04:00:00 h app: n={i}".encode() for i in range(300)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for line in lines:
            sock.sendto(line, (LOOPBACK, listener.udp_port))
            await asyncio.sleep(0)
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= len(lines))
    assert [line for _, line in got] == lines
    kafka_messages = {record.offset for record, _ in got}
    assert len(kafka_messages) < 30, "300 datagrams in 100 ms windows: a few batches"


async def test_oversized_frame_is_forwarded_for_the_dead_letter_topic(
        listener: SyslogListener, kafka_bootstrap: str, topic: str) -> None:
    assert listener.tcp_port
    big = b"<13>1 - h app - - - " + b"x" * 2000
    small = b"<13>1 - h app - - - small"
    _, writer = await asyncio.open_connection(LOOPBACK, listener.tcp_port)
    writer.write(b"%d %s%d %s" % (len(big), big, len(small), small))
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= 2)
    assert [line for _, line in got] == [big, small]
    assert "lw-batch" not in headers(got[0][0])
    result = ingest_message(raw(got[0][0]), FormatDetector(), IngestLimits(max_record_bytes=1024))
    assert [d.reason for d in result.dead_letters] == [Reason.OVERSIZED]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_backpressure_pauses_tcp_and_counts_udp_drops(kafka_bootstrap: str,
                                                            topic: str) -> None:
    running = make_listener(kafka_bootstrap, topic, max_backlog=3, max_in_flight=1)
    await running.start()
    try:
        assert running.tcp_port and running.udp_port
        _, writer = await asyncio.open_connection(LOOPBACK, running.tcp_port)
        writer.write(b"".join(b"<13>Nov 22 04:00:00 h tcp: n=%d\n" % i for i in range(200)))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= 200)
        assert len(got) == 200  # TCP waited for Kafka: nothing lost

        received = sample("logwarden_syslog_received_total", transport="udp")
        dropped = sample("logwarden_syslog_dropped_total", reason="backpressure")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(200):
                sock.sendto(b"<13>Nov 22 04:00:00 h udp: n=%d" % i, (LOOPBACK, running.udp_port))
        async with asyncio.timeout(10):
            while (sample("logwarden_syslog_received_total", transport="udp") - received
                   + sample("logwarden_syslog_dropped_total", reason="backpressure")
                   - dropped) < 200:
                await asyncio.sleep(0.05)
        accepted = sample("logwarden_syslog_received_total", transport="udp") - received
        assert sample("logwarden_syslog_dropped_total", reason="backpressure") > dropped
        got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= 200 + accepted)
        assert len(got) == 200 + accepted
    finally:
        await running.stop()


async def test_stop_takes_what_senders_already_sent(kafka_bootstrap: str, topic: str) -> None:
    # a sender writes and hangs up, and the stop comes before the listener has even
    # accepted the connection (the CLI test's SIGTERM race): nothing it sent is lost
    running = make_listener(kafka_bootstrap, topic)
    await running.start()
    assert running.tcp_port
    lines = [f"<14>Nov 22 04:00:00 h app: sent before the stop n={i}".encode()
             for i in range(3)]
    with socket.create_connection((LOOPBACK, running.tcp_port)) as sock:
        sock.sendall(b"\n".join(lines) + b"\n")
    await running.stop()  # no await in between: the data sits in the kernel's queues
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= len(lines))
    assert [line for _, line in got] == lines


async def test_stop_is_bounded_by_a_connection_that_stays_open(kafka_bootstrap: str,
                                                              topic: str) -> None:
    # a forwarder (rsyslog) keeps its connection open: the stop waits drain_s, no longer
    running = make_listener(kafka_bootstrap, topic)
    await running.start()
    assert running.tcp_port
    reader, writer = await asyncio.open_connection(LOOPBACK, running.tcp_port)
    writer.write(b"<14>Nov 22 04:00:00 h app: kept open\n")
    await writer.drain()
    started = asyncio.get_running_loop().time()
    await running.stop(drain_s=0.3)
    assert asyncio.get_running_loop().time() - started < 5
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= 1)
    assert [line for _, line in got] == [b"<14>Nov 22 04:00:00 h app: kept open"]
    assert await reader.read() == b""  # the listener closed its end
    writer.close()


async def test_cli_runs_until_sigterm_and_flushes(kafka_bootstrap: str, topic: str) -> None:
    parser = argparse.ArgumentParser()
    add_cli_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["syslog", "--host", "127.0.0.2", "--udp-port", "1", "--tcp-port",
                              "2"])
    assert (args.host, args.udp_port, args.tcp_port) == ("127.0.0.2", 1, 2)
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    script = ("import argparse, sys\nfrom app.ingest.syslog_listener import add_cli_parser\n"
              "p = argparse.ArgumentParser()\nadd_cli_parser(p.add_subparsers(dest='c'))\n"
              "a = p.parse_args(sys.argv[1:])\nsys.exit(a.func(a))\n")
    env = {**os.environ, "LOGWARDEN_TOPICS__RAW": topic,
           "LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, "syslog", "--udp-port", str(port), "--tcp-port",
        str(port), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async with asyncio.timeout(30):
            while True:  # wait until the TCP port accepts
                try:
                    _, writer = await asyncio.open_connection(LOOPBACK, port)
                except OSError:
                    assert proc.returncode is None
                    await asyncio.sleep(0.1)
                    continue
                writer.close()
                break
        await logger(port, "--tcp", "--rfc5424", "-t", "cli", "via the cli")
        proc.send_signal(signal.SIGTERM)  # stop() must still forward the pending batch
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    got = await consume(kafka_bootstrap, topic, lambda got: len(got) >= 1)
    assert parse(*got[0]).message == "via the cli"
