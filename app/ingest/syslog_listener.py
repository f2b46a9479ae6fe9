"""Syslog in (UDP, RFC 5426; TCP, RFC 6587), Kafka ``logs.raw`` out.

Each sender (peer IP, the Kafka key) gets a batch of up to ``batch_max_messages``
messages or ``batch_max_wait_s`` seconds, sent as one Kafka message with
``lw-batch: lines``. A message with a newline inside, or over ``max_message_bytes``, is
sent alone without the batch header, so it stays one record (and the pipeline's size
check dead-letters the oversized one). Sends are acknowledged (acks=all). When Kafka
falls behind, the backlog bound pauses TCP reading; UDP has no backpressure, so
datagrams are dropped and counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, start_http_server

from app.core.errors import ConfigError
from app.core.ingest import BATCH_HEADER, FORMAT_HEADER, SOURCE_TYPE_HEADER
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)

RECEIVED = Counter("logwarden_syslog_received_total",
                   "Syslog messages accepted for Kafka, per transport", ["transport"])
#: reasons: backpressure (UDP while the backlog is full), kafka_error (send failed),
#: framing (bad octet count, partial frame at EOF), empty (empty datagram),
#: truncated (longer than max_forward_bytes: the head was forwarded)
DROPPED = Counter("logwarden_syslog_dropped_total",
                  "Syslog messages not forwarded (or forwarded cut), per reason", ["reason"])
_SINGLE = [(FORMAT_HEADER, b"syslog"), (SOURCE_TYPE_HEADER, b"syslog")]
_BATCH = [*_SINGLE, (BATCH_HEADER, b"lines")]
_TRAILER = b"\r\n\x00"
_DRAIN_TICK_S = 0.01  # how often a stop looks whether open connections have ended


class FrameDecoder:
    """RFC 6587 framing of one TCP stream, chosen by its first bytes.

    ``LEN SP MSG`` (octet counting) when the stream starts with digits and a space,
    otherwise LF-terminated (non-transparent). Frames longer than ``max_forward_bytes``
    are cut to that many bytes (``truncated`` counts them). A broken octet count sets
    ``error``; the frames before it are still returned.
    """

    def __init__(self, max_forward_bytes: int) -> None:
        self.max = max_forward_bytes
        self.octet: bool | None = None
        self.truncated = 0
        self.error: str | None = None
        self._buf = bytearray()
        self._skip = False  # LF: inside an over-long line whose head was forwarded
        self._remaining = self._length = 0  # octet counting: body bytes to come, total
        self._body = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        if self.octet is None:
            digits = len(self._buf) - len(self._buf.lstrip(b"0123456789"))
            if digits == len(self._buf) and digits <= 10:
                return []  # only digits so far: cannot tell yet
            self.octet = 0 < digits <= 10 and self._buf[digits] == 0x20
        return self._octets() if self.octet else self._lines()

    def finish(self) -> list[bytes]:
        """Frames left at the end of the stream (a partial octet frame sets ``error``)."""
        rest, self._buf = bytes(self._buf), bytearray()
        if self.octet:
            if self._remaining or rest.strip():
                self.error = "stream ended inside an octet-counted frame"
            return []
        return [rest[:self.max]] if rest.strip() and not self._skip else []

    def _cut(self, frame: bytes) -> bytes:
        if len(frame) <= self.max:
            return frame
        self.truncated += 1
        return frame[:self.max]

    def _lines(self) -> list[bytes]:
        frames: list[bytes] = []
        if b"\n" in self._buf:
            *complete, rest = bytes(self._buf).split(b"\n")
            self._buf = bytearray(rest)
            if self._skip:
                self._skip, complete = False, complete[1:]
            frames = [self._cut(line) for line in complete if line.strip()]
        if len(self._buf) > self.max:
            if not self._skip:
                frames.append(self._cut(bytes(self._buf)))
            self._skip = True
            self._buf.clear()
        return frames

    def _octets(self) -> list[bytes]:
        frames: list[bytes] = []
        buf, pos, end = self._buf, 0, len(self._buf)
        while pos < end and self.error is None:
            if not self._remaining:
                while pos < end and buf[pos] in b"\r\n":  # tolerate LF between frames
                    pos += 1
                space = buf.find(b" ", pos, pos + 11)
                digits = buf[pos:end if space < 0 else space]
                if space < 0 and end - pos <= 10 and (not digits or digits.isdigit()):
                    break  # the count is still arriving
                if space < 0 or not digits.isdigit():
                    self.error = f"bad octet count {bytes(buf[pos:pos + 12])!r}"
                    break
                self._remaining = self._length = int(digits)
                pos = space + 1
            take = min(self._remaining, end - pos)
            room = self.max - len(self._body)
            if room > 0:
                self._body += buf[pos:pos + min(take, room)]
            pos += take
            self._remaining -= take
            if not self._remaining:
                self.truncated += self._length > self.max
                if self._body:
                    frames.append(bytes(self._body))
                self._body = bytearray()
        del buf[:pos]
        return frames


@dataclass(slots=True)
class _Batch:
    lines: list[bytes]
    size: int
    started: float


class SyslogListener:
    """UDP and TCP syslog servers forwarding to ``settings.topics.raw``; ports 0 = any."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1",
                 udp_port: int | None = 5514, tcp_port: int | None = 5514, *,
                 max_message_bytes: int = 64 * 1024, max_forward_bytes: int = 1_000_000,
                 batch_max_messages: int = 500, batch_max_bytes: int = 512 * 1024,
                 batch_max_wait_s: float = 0.1, max_backlog: int = 20_000,
                 max_in_flight: int = 32) -> None:
        self.settings, self.host = settings, host
        self.udp_port, self.tcp_port = udp_port, tcp_port
        self.max_message_bytes, self.max_forward_bytes = max_message_bytes, max_forward_bytes
        self.batch_max_messages, self.batch_max_bytes = batch_max_messages, batch_max_bytes
        self.batch_max_wait_s, self.max_backlog = batch_max_wait_s, max_backlog
        self.backlog = 0  # accepted messages not yet acknowledged by Kafka
        self._max_in_flight = max_in_flight
        self._pending: dict[str, _Batch] = {}
        self._outbox: deque[tuple[str, list[bytes], bool]] = deque()
        self._connections: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._producer: Any = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._received = {t: RECEIVED.labels(t) for t in ("udp", "tcp")}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._wake, self._room = asyncio.Event(), asyncio.Event()
        self._room.set()
        self._slots = asyncio.Semaphore(self._max_in_flight)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka.bootstrap_servers, acks="all", linger_ms=5,
            max_request_size=max(1_048_576, self.max_forward_bytes + 65_536),
            compression_type=self.settings.kafka.producer_compression)
        await self._producer.start()
        try:
            if self.udp_port is not None:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(self.host, self.udp_port))
                self.udp_port = self._udp.get_extra_info("sockname")[1]
            if self.tcp_port is not None:
                self._tcp = await asyncio.start_server(self._connection, self.host,
                                                       self.tcp_port)
                self.tcp_port = self._tcp.sockets[0].getsockname()[1]
        except BaseException:
            await self.stop()
            raise
        self._tasks = [asyncio.create_task(self._send_loop()),
                       asyncio.create_task(self._tick_loop())]
        log.info("syslog listener on %s udp:%s tcp:%s -> %s", self.host, self.udp_port,
                 self.tcp_port, self.settings.topics.raw)

    async def stop(self, timeout: float = 30.0, drain_s: float = 0.5) -> None:
        """Take what senders already sent, stop receiving, forward everything accepted,
        then close the producer.

        For up to ``drain_s`` the listener still accepts and reads: a connection a
        sender has written to and closed (``logger``, a shipper that finished) is read
        to its end, even one the event loop had not accepted yet when the stop came. A
        connection that stays open (a forwarder) is closed after ``drain_s``.
        """
        await self._drain(drain_s)
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for sender in list(self._pending):
            self._flush(sender)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._tasks and self.backlog:
                    await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
        self._tasks, self._producer, self._udp, self._tcp = [], None, None, None

    async def _drain(self, drain_s: float) -> None:
        if self._tcp is None and self._udp is None:
            return  # never started
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_s
        # the loop accepts queued connections and reads what is ready, then connections
        # end as their senders close them
        await asyncio.sleep(min(_DRAIN_TICK_S, drain_s))
        while loop.time() < deadline and any(not t.done() for t in self._connections):
            await asyncio.sleep(_DRAIN_TICK_S)

    # ------------------------------------------------------------------ receiving
    def accept(self, sender: str, message: bytes, transport: str) -> None:
        """Queue one syslog message of ``sender`` for Kafka (the receive path)."""
        message = message.rstrip(_TRAILER)
        if not message.strip():
            DROPPED.labels("empty").inc()
            return
        self._received[transport].inc()
        self.backlog += 1
        if self.backlog >= self.max_backlog:
            self._room.clear()
        if b"\n" in message or len(message) > self.max_message_bytes:
            self._flush(sender)  # keep the sender's order
            self._outbox.append((sender, [message], False))
            self._wake.set()
            return
        batch = self._pending.get(sender)
        if batch is None:
            batch = self._pending[sender] = _Batch([], 0, asyncio.get_running_loop().time())
        batch.lines.append(message)
        batch.size += len(message) + 1
        if len(batch.lines) >= self.batch_max_messages or batch.size >= self.batch_max_bytes:
            self._flush(sender)

    def datagram(self, data: bytes, sender: str) -> None:
        if self.backlog >= self.max_backlog:
            DROPPED.labels("backpressure").inc()
            return
        if data[:1].isdigit():  # an octet count on UDP (logger --udp --octet-count)
            count, space, rest = data.partition(b" ")
            if space and count.isdigit() and int(count) == len(rest):
                data = rest
        self.accept(sender, data, "udp")

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        sender = str(peer[0]) if peer else "unknown"
        decoder = FrameDecoder(self.max_forward_bytes)
        try:
            while data := await reader.read(65_536):
                self._take(sender, decoder, decoder.feed(data))
                if decoder.error:
                    break
                await self._room.wait()  # backpressure: stop reading while Kafka lags
            else:
                self._take(sender, decoder, decoder.finish())
            if decoder.error:
                DROPPED.labels("framing").inc()
                log.warning("syslog: TCP %s: %s; connection closed", sender, decoder.error)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    def _take(self, sender: str, decoder: FrameDecoder, frames: list[bytes]) -> None:
        if decoder.truncated:
            DROPPED.labels("truncated").inc(decoder.truncated)
            decoder.truncated = 0
        for frame in frames:
            self.accept(sender, frame, "tcp")

    # ------------------------------------------------------------------ sending
    def _flush(self, sender: str) -> None:
        batch = self._pending.pop(sender, None)
        if batch is not None:
            self._outbox.append((sender, batch.lines, True))
            self._wake.set()

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.batch_max_wait_s / 4)
            due = loop.time() - self.batch_max_wait_s
            for sender in [s for s, b in self._pending.items() if b.started <= due]:
                self._flush(sender)

    async def _send_loop(self) -> None:
        topic = self.settings.topics.raw
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._slots.acquire()
            sender, lines, batched = self._outbox.popleft()
            try:
                ack = await self._producer.send(
                    topic, value=b"\n".join(lines), key=sender.encode(),
                    headers=_BATCH if batched else _SINGLE)
            except Exception as exc:  # e.g. MessageSizeTooLargeError, KafkaTimeoutError
                self._acked(len(lines), exc)
                continue
            ack.add_done_callback(functools.partial(self._acked, len(lines)))

    def _acked(self, count: int, ack: asyncio.Future[Any] | BaseException) -> None:
        error = ack if isinstance(ack, BaseException) else (
            None if ack.cancelled() else ack.exception())
        self._slots.release()
        self.backlog -= count
        if self.backlog < self.max_backlog:
            self._room.set()
        if error is not None:
            DROPPED.labels("kafka_error").inc(count)
            log.error("syslog: %d messages not written to Kafka: %r", count, error)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.listener.datagram(data, str(addr[0]))


# ---------------------------------------------------------------------- command line
def add_cli_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``logwarden syslog --host --udp-port --tcp-port``."""
    p = subparsers.add_parser("syslog", help="receive syslog (UDP and TCP) into logs.raw")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--udp-port", type=int, default=5514)
    p.add_argument("--tcp-port", type=int, default=5514)
    p.add_argument("--max-message-bytes", type=int, default=64 * 1024,
                   help="larger messages are forwarded alone (the pipeline dead-letters them)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="serve Prometheus /metrics on this port (same host)")
    p.set_defaults(func=cmd_syslog)


def cmd_syslog(args: argparse.Namespace) -> int:
    try:
        settings = get_settings()
    except ConfigError as exc:
        sys.stderr.write(f"logwarden: {exc}\n")
        return 2
    if args.metrics_port is not None:
        start_http_server(args.metrics_port, addr=args.host)
    listener = SyslogListener(settings, args.host, args.udp_port, args.tcp_port,
                              max_message_bytes=args.max_message_bytes)
    return asyncio.run(serve(listener))


async def serve(listener: SyslogListener) -> int:
    """Run ``listener`` until SIGINT or SIGTERM."""
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await listener.start()
        await stop.wait()
    finally:
        await listener.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0
