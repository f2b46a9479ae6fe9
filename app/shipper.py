"""``logwarden ship``: send log files to ``logs.raw``, resumable, with progress.

Lines are sent in batch messages (``lw-batch: json``) so that folded multi-line records
(tracebacks) keep their newlines. The offset of the last line Kafka acknowledged is
remembered per file (by path and inode), so a second run, or a restart of ``--follow``,
continues where the last one stopped; a rotated or truncated file starts over.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from app.core.ingest import BATCH_HEADER, FORMAT_HEADER, SERVICE_HEADER
from app.settings import Settings

DEFAULT_STATE = Path(".run/ship-state.json")


@dataclass
class ShipStats:
    lines: int = 0
    records: int = 0
    bytes: int = 0
    messages: int = 0
    started: float = field(default_factory=time.monotonic)

    def summary(self, path: str) -> str:
        seconds = max(time.monotonic() - self.started, 1e-9)
        return (f"{path}: {self.lines} lines in {self.records} records, "
                f"{self.bytes / 1e6:.2f} MB, {self.messages} Kafka messages, "
                f"{seconds:.1f}s ({self.lines / seconds:,.0f} lines/s)")


class OffsetStore:
    """Remembered read offsets, one JSON file (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, int]] = (
            json.loads(path.read_text()) if path.exists() else {})

    def start_offset(self, file: Path) -> int:
        stat = file.stat()
        entry = self.data.get(str(file.resolve()))
        if not entry or entry.get("inode") != stat.st_ino or entry.get("offset", 0) > stat.st_size:
            return 0  # new, rotated or truncated
        return int(entry["offset"])

    def save(self, file: Path, offset: int) -> None:
        self.data[str(file.resolve())] = {"inode": file.stat().st_ino, "offset": offset}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


class Progress:
    def __init__(self, path: str, total: int, enabled: bool) -> None:
        self.path, self.total, self.enabled = path, total, enabled
        self.last = 0.0

    def update(self, done: int, stats: ShipStats, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.2):
            return
        self.last = now
        rate = stats.lines / max(now - stats.started, 1e-9)
        share = done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{self.path} [{bar:<30}] {share:6.1%} {stats.lines} lines "
                         f"{rate:,.0f}/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class Shipper:
    def __init__(self, settings: Settings, *, source: str | None = None,
                 service: str | None = None, fmt: str | None = None,
                 record_start: Callable[[str], bool] | None = None,
                 state: Path = DEFAULT_STATE, batch_records: int = 1000,
                 batch_bytes: int = 512 * 1024, progress: bool = True) -> None:
        self.settings = settings
        self.source, self.service, self.fmt = source, service, fmt
        self.record_start = record_start
        self.offsets = OffsetStore(state)
        self.batch_records, self.batch_bytes = batch_records, batch_bytes
        self.progress = progress
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers,
                                         acks="all", linger_ms=10,
                                         compression_type=settings.kafka.producer_compression)

    async def __aenter__(self) -> Shipper:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    def _headers(self, batch: bool) -> list[tuple[str, bytes]]:
        headers = [(BATCH_HEADER, b"json")] if batch else []
        headers.append(("source_type", b"file"))
        if self.fmt:
            headers.append((FORMAT_HEADER, self.fmt.encode()))
        if self.service:
            headers.append((SERVICE_HEADER, self.service.encode()))
        return headers

    async def ship(self, path: Path, *, follow: bool = False,
                   stop: asyncio.Event | None = None) -> ShipStats:
        stats = ShipStats()
        key = (self.source or path.name).encode()
        offset = self.offsets.start_offset(path)
        folder = _Folder(self.record_start)
        pending: list[str] = []  # records ready to send
        pending_end = offset  # file offset just after the last line of ``pending``
        progress = Progress(str(path), path.stat().st_size,
                            self.progress and sys.stderr.isatty())

        async def send() -> None:
            nonlocal pending
            if pending:
                await (await self.producer.send(self.settings.topics.raw, key=key,
                                                value=orjson.dumps(pending),
                                                headers=self._headers(True)))
                stats.messages += 1
                stats.records += len(pending)
                pending = []
            self.offsets.save(path, pending_end)

        with path.open("rb") as handle:
            handle.seek(offset)
            while True:
                raw = handle.readline()
                if raw.endswith(b"\n") or (raw and not follow):
                    position = handle.tell()
                    stats.lines += 1
                    stats.bytes += len(raw)
                    line = raw.rstrip(b"\r\n")
                    try:
                        text = line.decode("utf-8")
                    except UnicodeDecodeError:  # forwarded as is: the parse stage DLQs it
                        for record, end in folder.flush():
                            pending.append(record)
                            pending_end = end
                        await send()
                        await (await self.producer.send(self.settings.topics.raw, key=key,
                                                        value=line,
                                                        headers=self._headers(False)))
                        stats.messages += 1
                        stats.records += 1
                        pending_end = position
                        self.offsets.save(path, pending_end)
                        continue
                    if folder.inner is None and not text.strip():
                        continue  # blank lines are not records (inside a fold they are)
                    for record, end in folder.feed(text, position):
                        pending.append(record)
                        pending_end = end
                    if len(pending) >= self.batch_records or (
                            sum(len(r) for r in pending) >= self.batch_bytes):
                        await send()
                    progress.update(position, stats)
                    continue
                if raw:  # a partial last line while following: wait for its newline
                    handle.seek(-len(raw), os.SEEK_CUR)
                for record, end in (folder.flush_due() if follow else folder.flush()):
                    pending.append(record)
                    pending_end = end
                await send()
                if not follow or (stop is not None and stop.is_set()):
                    break
                await asyncio.sleep(0.5)
        if follow:
            for record, end in folder.flush():
                pending.append(record)
                pending_end = end
            await send()
        progress.update(path.stat().st_size, stats, force=True)
        progress.close()
        return stats


class _Folder:
    """Folds continuation lines into records and knows each record's end offset."""

    def __init__(self, record_start: Callable[[str], bool] | None) -> None:
        self.ends: deque[int] = deque()
        self.inner = None
        if record_start is not None:
            from app.core.multiline import MultilineFolder

            self.inner = MultilineFolder(record_start)

    def _with_ends(self, records: list[str]) -> list[tuple[str, int]]:
        out = []
        for record in records:
            end = 0
            for _ in range(record.count("\n") + 1):
                end = self.ends.popleft()
            out.append((record, end))
        return out

    def feed(self, line: str, end: int) -> list[tuple[str, int]]:
        if self.inner is None:
            return [(line, end)]
        self.ends.append(end)
        return self._with_ends(self.inner.feed(line, time.monotonic()))

    def flush_due(self) -> list[tuple[str, int]]:
        return [] if self.inner is None else self._with_ends(
            self.inner.flush_due(time.monotonic()))

    def flush(self) -> list[tuple[str, int]]:
        return [] if self.inner is None else self._with_ends(self.inner.flush())
