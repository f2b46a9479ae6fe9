"""Folding continuation lines (tracebacks, stack traces) into the record they belong to.

Pure: the caller passes the time. A line for which ``is_start`` is true opens a new
record and completes the open one; any other line is appended to the open record with
``"\\n"``. A record is closed early when it reaches ``max_lines`` or ``max_bytes`` (the
next line then opens a new record), or when its last line is older than ``timeout_s``.
Lines are never split, dropped or reordered: ``"\\n".join(records) == "\\n".join(lines)``.
A continuation line with no open record (a shipper that started mid-traceback) opens
a record of its own, which later continuation lines join.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_PYTHON_START = re.compile(
    r"\d{4}-\d\d-\d\d|(?:CRITICAL|FATAL|ERROR|WARNING|WARN|NOTICE|INFO|DEBUG|TRACE|NOTSET"
    r"|Level \d{1,3}):")
_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIMESTAMP_START = re.compile(
    r"\[?(?:\d{4}[-/]\d\d[-/]\d\d"  # ISO 8601, Python asctime, nginx error log
    rf"|\d\d/{_MON}/\d{{4}}:"  # CLF
    rf"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MON} [ \d]\d "  # Apache error log, ctime
    rf"|{_MON} [ \d]\d \d\d:\d\d:\d\d"  # syslog file form
    r"|\d\d:\d\d:\d\d[.,]\d"  # time of day only
    r"|1\d{9}(?:[.,]\d+)?\b)"  # epoch seconds (2001-2286)
    r"|<\d{1,3}>"  # syslog PRI
)


def python_record_start(line: str) -> bool:
    """A Python logging record starts with ``YYYY-MM-DD`` or ``LEVEL:`` (BASIC_FORMAT)."""
    return _PYTHON_START.match(line) is not None


def timestamp_record_start(line: str) -> bool:
    """A record starts with a common timestamp (optionally in ``[``) or a syslog ``<PRI>``."""
    return _TIMESTAMP_START.match(line) is not None


def _utf8_len(line: str) -> int:
    return len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))


class MultilineFolder:
    """Stateful folder for one stream of lines (one file or one source)."""

    __slots__ = ("_bytes", "_is_start", "_last", "_lines", "max_bytes", "max_lines",
                 "timeout_s")

    def __init__(self, is_start: Callable[[str], bool], max_lines: int = 500,
                 max_bytes: int = 256 * 1024, timeout_s: float = 2.0) -> None:
        if max_lines < 1 or max_bytes < 1 or not timeout_s >= 0:
            raise ValueError("max_lines and max_bytes must be >= 1 and timeout_s >= 0")
        self._is_start = is_start
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self._lines: list[str] = []
        self._bytes = 0
        self._last = 0.0

    @property
    def pending(self) -> int:
        """Lines held in the open record."""
        return len(self._lines)

    def feed(self, line: str, now: float) -> list[str]:
        """Add one line (without its newline); return the records it completed."""
        done: list[str] = []
        size = _utf8_len(line)
        if self._lines and (
                self._is_start(line)
                or now - self._last >= self.timeout_s
                or len(self._lines) >= self.max_lines
                or self._bytes + 1 + size > self.max_bytes):
            done.append(self._close())
        if self._lines:
            self._lines.append(line)
            self._bytes += 1 + size
        else:
            self._lines = [line]
            self._bytes = size
        self._last = now
        return done

    def flush_due(self, now: float) -> list[str]:
        """The open record if its last line is at least ``timeout_s`` old."""
        if self._lines and now - self._last >= self.timeout_s:
            return [self._close()]
        return []

    def flush(self) -> list[str]:
        """Everything still open (end of input, shutdown)."""
        return [self._close()] if self._lines else []

    def _close(self) -> str:
        record = "\n".join(self._lines)
        self._lines = []
        self._bytes = 0
        return record


def fold_lines(lines: Iterable[str], is_start: Callable[[str], bool], max_lines: int = 500,
               max_bytes: int = 256 * 1024) -> list[str]:
    """Fold a whole batch (no timeout): the records, in order."""
    folder = MultilineFolder(is_start, max_lines, max_bytes, timeout_s=float("inf"))
    records: list[str] = []
    for line in lines:
        records.extend(folder.feed(line, 0.0))
    records.extend(folder.flush())
    return records
