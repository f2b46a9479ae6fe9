"""Built-in traffic generator: realistic app JSON logs and access-log lines to ``logs.raw``.

``LineFactory`` is pure (seeded, time passed in); ``run_generator`` produces what it
makes to Kafka in batch messages (newline-delimited records, header ``lw-batch: lines``),
the way the gateway and shippers send.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer

from app.core.events import iso_utc
from app.core.ingest import BATCH_HEADER, SERVICE_HEADER
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


class LineFactory:
    def __init__(self, seed: int = 7, bad_fraction: float = 0.0) -> None:
        self.rng = random.Random(seed)
        self.bad_fraction = bad_fraction

    def make(self, now: float) -> Line:
        rng = self.rng
        if rng.random() < self.bad_fraction:
            return Line("bad-producer", "unknown", '{"level": "error", "message": "truncated')
        if rng.random() < 0.3:
            return self._access(now)
        return self._app(now, rng.choice(SERVICES))

    def _status(self) -> int:
        roll = self.rng.random()
        if roll < 0.03:
            return self.rng.choice((500, 502, 503))
        if roll < 0.10:
            return self.rng.choice((400, 401, 404, 429))
        return self.rng.choice((200, 200, 200, 201, 204, 304))

    def _path(self, service: str) -> str:
        return self.rng.choice(ROUTES[service]).replace("{id}", str(self.rng.randint(1, 99999)))

    def _app(self, now: float, service: str) -> Line:
        rng = self.rng
        status = self._status()
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        doc = {
            "@timestamp": iso_utc(now),
            "level": level,
            "service": service,
            "host": f"{service}-{rng.randint(1, 3)}",
            "message": rng.choice(MESSAGES[level]),
            "trace_id": f"{rng.getrandbits(128):032x}",
            "http": {"method": rng.choice(("GET", "GET", "POST", "PUT")),
                     "path": self._path(service), "status": status,
                     "latency_ms": round(rng.lognormvariate(3.5, 0.8), 2),
                     "bytes": rng.randint(120, 40_000)},
        }
        return Line(f"{service}-app", service, orjson.dumps(doc).decode())

    def _access(self, now: float) -> Line:
        rng = self.rng
        moment = datetime.fromtimestamp(now, tz=UTC)
        stamp = (f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
                 f"{moment:%H:%M:%S} +0000")
        octets = ((1, 223), (0, 255), (0, 255), (1, 254))
        ip = ".".join(str(rng.randint(lo, hi)) for lo, hi in octets)
        service = rng.choice(SERVICES)
        text = (f'{ip} - - [{stamp}] "{rng.choice(("GET", "POST"))} {self._path(service)} '
                f'HTTP/1.1" {self._status()} {rng.randint(0, 50_000)} "-" "{rng.choice(AGENTS)}"')
        return Line(WEB_SOURCE, WEB_SERVICE, text)


async def run_generator(settings: Settings, *, rate: float, duration: float | None,
                        seed: int = 7, bad_fraction: float = 0.001,
                        tick: float = 0.2) -> int:
    """Produce about ``rate`` lines per second for ``duration`` seconds (None: forever)."""
    factory = LineFactory(seed, bad_fraction)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers,
                                linger_ms=20, acks="all")
    await producer.start()
    sent, started, carry = 0, time.monotonic(), 0.0
    try:
        while duration is None or time.monotonic() - started < duration:
            tick_started = time.monotonic()
            carry += rate * tick
            count, carry = int(carry), carry - int(carry)
            groups: dict[tuple[str, str], list[str]] = {}
            now = time.time()
            for _ in range(count):
                line = factory.make(now)
                groups.setdefault((line.source, line.service), []).append(line.text)
            futures = [
                await producer.send(
                    settings.topics.raw, key=source.encode(),
                    value="\n".join(texts).encode(),
                    headers=[(BATCH_HEADER, b"lines"), (SERVICE_HEADER, service.encode())])
                for (source, service), texts in groups.items()
            ]
            await asyncio.gather(*futures)
            sent += count
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - tick_started)))
    finally:
        await producer.stop()
    return sent
