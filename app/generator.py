"""Built-in traffic generator: realistic app JSON logs and access-log lines to ``logs.raw``.

``LineFactory`` is pure (seeded, time passed in); ``run_generator`` produces what it
makes to Kafka in batch messages (newline-delimited records, header ``lw-batch: lines``),
the way the gateway and shippers send.
"""

from __future__ import annotations

import asyncio
import random
import time
from bisect import bisect
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer

from app.core.events import iso_utc
from app.core.ingest import BATCH_HEADER, FORMAT_HEADER, SERVICE_HEADER
from app.settings import Settings

SERVICES = ("checkout", "auth", "search", "payments")
ROUTES = {
    "checkout": ["/api/cart", "/api/cart/{id}", "/api/checkout", "/api/orders/{id}"],
    "auth": ["/login", "/logout", "/oauth/token", "/api/users/{id}"],
    "search": ["/api/search", "/api/suggest", "/api/products/{id}"],
    "payments": ["/api/payments", "/api/payments/{id}/capture", "/api/refunds"],
}
MESSAGES = {
    "INFO": ["request completed", "cache hit", "user session refreshed", "order placed"],
    "WARN": ["slow query detected", "retrying upstream call", "rate limit close"],
    "ERROR": ["upstream timeout", "database connection refused",
              "payment provider returned 502", "NullPointerException in handler"],
}
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "curl/8.4.0",
]
WEB_SOURCE, WEB_SERVICE = "web-1", "web-frontend"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True, slots=True)
class Line:
    source: str  # Kafka key of logs.raw
    service: str
    text: str
    fmt: str | None = None  # declared format header, None = auto-detect


@dataclass(slots=True)
class Incidents:
    """Injectable incidents, so alerting can be seen doing its job."""

    error_spike: str | None = None  # service: 40 % of its requests fail with 5xx
    latency_spike: str | None = None  # service: latency x 20
    silent: str | None = None  # service: stops logging altogether
    brute_force_ip: str | None = None  # sshd: many failed logins from this IP
    new_error: str | None = None  # service: logs an error message never seen before

    @classmethod
    def parse(cls, specs: list[str]) -> Incidents:
        """``["error_spike=checkout", "brute_force_ip=203.0.113.66"]``."""
        incidents = cls()
        for spec in specs:
            name, _, value = spec.partition("=")
            if name not in cls.__slots__ or not value:
                known = ", ".join(cls.__slots__)
                raise ValueError(f"bad incident {spec!r}; use NAME=VALUE with NAME in {known}")
            setattr(incidents, name, value)
        return incidents


SYSLOG_HOST, SYSLOG_SERVICE = "bastion-1", "bastion"
WORKER_SOURCE, WORKER_SERVICE = "billing-worker-1", "billing-worker"
USERS = ("alice", "bob", "deploy", "carol")


class LineFactory:
    def __init__(self, seed: int = 7, bad_fraction: float = 0.0,
                 incidents: Incidents | None = None, clients: int = 5000) -> None:
        self.rng = random.Random(seed)
        self.bad_fraction = bad_fraction
        self.incidents = incidents or Incidents()
        self._new_error_count = 0
        # real access logs repeat their clients: a pool of addresses with a Zipf-like
        # popularity (a few heavy clients, a long tail); ``clients`` addresses
        octets = ((1, 223), (0, 255), (0, 255), (1, 254))
        self._clients = [".".join(str(self.rng.randint(lo, hi)) for lo, hi in octets)
                         for _ in range(clients)]
        weights = [1.0 / (rank + 1) for rank in range(len(self._clients))]
        total, running = sum(weights), 0.0
        self._client_cdf = []
        for w in weights:
            running += w / total
            self._client_cdf.append(running)

    def make(self, now: float) -> Line:
        rng = self.rng
        if rng.random() < self.bad_fraction:
            return Line("bad-producer", "unknown", '{"level": "error", "message": "truncated')
        roll = rng.random()
        if roll < 0.25:
            line = self._access(now)
        elif roll < 0.33:
            line = self._auth(now)
        elif roll < 0.38:
            line = self._python(now)
        else:
            line = self._app(now, rng.choice(SERVICES))
        if line.service == self.incidents.silent:
            return self._app(now, rng.choice([s for s in SERVICES if s != line.service]))
        return line

    def _status(self, service: str) -> int:
        roll = self.rng.random()
        if service == self.incidents.error_spike and roll < 0.4:
            return self.rng.choice((500, 502, 503))
        if roll < 0.03:
            return self.rng.choice((500, 502, 503))
        if roll < 0.10:
            return self.rng.choice((400, 401, 404, 429))
        return self.rng.choice((200, 200, 200, 201, 204, 304))

    def _latency_ms(self, service: str) -> float:
        base = self.rng.lognormvariate(3.5, 0.8)
        return round(base * (20 if service == self.incidents.latency_spike else 1), 2)

    def _path(self, service: str) -> str:
        return self.rng.choice(ROUTES[service]).replace("{id}", str(self.rng.randint(1, 99999)))

    def _app(self, now: float, service: str) -> Line:
        rng = self.rng
        status = self._status(service)
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        message = rng.choice(MESSAGES[level])
        if service == self.incidents.new_error and rng.random() < 0.2:
            self._new_error_count += 1
            level, message = "ERROR", "certificate verify failed: unable to get local issuer"
        doc = {
            "@timestamp": iso_utc(now),
            "level": level,
            "service": service,
            "host": f"{service}-{rng.randint(1, 3)}",
            "message": message,
            "trace_id": f"{rng.getrandbits(128):032x}",
            "http": {"method": rng.choice(("GET", "GET", "POST", "PUT")),
                     "path": self._path(service), "status": status,
                     "latency_ms": self._latency_ms(service),
                     "bytes": rng.randint(120, 40_000)},
        }
        return Line(f"{service}-app", service, orjson.dumps(doc).decode())

    def _access(self, now: float) -> Line:
        rng = self.rng
        moment = datetime.fromtimestamp(now, tz=UTC)
        stamp = (f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
                 f"{moment:%H:%M:%S} +0000")
        ip = self._clients[min(bisect(self._client_cdf, rng.random()), len(self._clients) - 1)]
        service = rng.choice(SERVICES)
        seconds = self._latency_ms(service) / 1000
        text = (f'{ip} - - [{stamp}] "{rng.choice(("GET", "POST"))} {self._path(service)} '
                f'HTTP/1.1" {self._status(service)} {rng.randint(0, 50_000)} "-" '
                f'"{rng.choice(AGENTS)}" "-" {seconds:.3f}')
        return Line(WEB_SOURCE, WEB_SERVICE, text)

    def _auth(self, now: float) -> Line:
        rng = self.rng
        moment = datetime.fromtimestamp(now, tz=UTC)
        stamp = f"{_MONTHS[moment.month - 1]} {moment.day:2d} {moment:%H:%M:%S}"
        pid = rng.randint(1000, 60000)
        attacker = self.incidents.brute_force_ip
        if attacker and rng.random() < 0.6:
            user = rng.choice(("root", "admin", "oracle", "test", "ubuntu"))
            body = f"sshd[{pid}]: Failed password for invalid user {user} from {attacker} port " \
                   f"{rng.randint(30000, 65000)} ssh2"
            pri = 38  # authpriv.info
        elif rng.random() < 0.8:
            ip = f"10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}"
            body = (f"sshd[{pid}]: Accepted publickey for {rng.choice(USERS)} from {ip} port "
                    f"{rng.randint(30000, 65000)} ssh2")
            pri = 38
        else:
            user = rng.choice(USERS)
            body = (f"sudo: {user} : TTY=pts/{rng.randint(0, 4)} ; PWD=/home/{user} ; "
                    f"USER=root ; COMMAND=/usr/bin/systemctl restart nginx")
            pri = 85  # authpriv.notice
        return Line(SYSLOG_HOST, SYSLOG_SERVICE, f"<{pri}>{stamp} {SYSLOG_HOST} {body}",
                    "syslog")

    def _python(self, now: float) -> Line:
        rng = self.rng
        moment = datetime.fromtimestamp(now, tz=UTC)
        stamp = f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}"
        if rng.random() < 0.15:
            text = (f"{stamp} - billing.jobs - ERROR - invoice run failed\n"
                    "Traceback (most recent call last):\n"
                    '  File "/app/billing/jobs.py", line 88, in run\n'
                    "    total = amount / count\n"
                    "ZeroDivisionError: division by zero")
        else:
            text = (f"{stamp} - billing.jobs - INFO - invoice {rng.randint(1, 10**6)} "
                    f"sent in {rng.randint(5, 900)} ms")
        return Line(WORKER_SOURCE, WORKER_SERVICE, text, "python")


async def run_generator(settings: Settings, *, rate: float, duration: float | None,
                        seed: int = 7, bad_fraction: float = 0.001, tick: float = 0.2,
                        incidents: Incidents | None = None) -> int:
    """Produce about ``rate`` records per second for ``duration`` seconds (None: forever)."""
    factory = LineFactory(seed, bad_fraction, incidents)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers,
                                linger_ms=20, acks="all",
                                compression_type=settings.kafka.producer_compression)
    await producer.start()
    sent, started, carry = 0, time.monotonic(), 0.0
    try:
        while duration is None or time.monotonic() - started < duration:
            tick_started = time.monotonic()
            carry += rate * tick
            count, carry = int(carry), carry - int(carry)
            groups: dict[tuple[str, str, str | None], list[str]] = {}
            now = time.time()
            for _ in range(count):
                line = factory.make(now)
                groups.setdefault((line.source, line.service, line.fmt), []).append(line.text)
            futures = [
                await producer.send(settings.topics.raw, key=source.encode(),
                                    value=orjson.dumps(texts), headers=_headers(service, fmt))
                for (source, service, fmt), texts in groups.items()
            ]
            await asyncio.gather(*futures)
            sent += count
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - tick_started)))
    finally:
        await producer.stop()
    return sent


def _headers(service: str, fmt: str | None) -> list[tuple[str, bytes]]:
    headers = [(BATCH_HEADER, b"json"), (SERVICE_HEADER, service.encode())]
    if fmt:
        headers.append((FORMAT_HEADER, fmt.encode()))
    return headers
