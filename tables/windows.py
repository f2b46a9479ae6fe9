"""The window table: open windows, partition marks and known services, changelogged.

One Faust table holds three kinds of keys (values are JSON, see ``app.core.windows.book``;
kept encoded, as the bytes the changelog carries: a decoded window state is a dozen
nested dicts, about four times the memory of its JSON — bench/RESULTS.md):

* ``w|<window key>`` — an open window: its stats and the highest offset folded in;
* ``m|<partition>`` — a partition's largest event time and closed-through watermark;
* ``s|<service>`` — where and when a service logged (for empty windows).

Faust picks a table write's changelog partition from the event being processed. The
aggregate agent folds batches that mix partitions, and the window closer writes from a
timer, where there is no event at all; both name the partition explicitly with
``writing_to(partition)``, so each key's changelog records sit on the partition of the
``logs.events`` messages it came from and move with that partition on a rebalance.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust
import orjson

from app.core.windows.book import OpenWindow, PartitionMark, ServiceSeen
from app.core.windows.stats import WindowKey
from app.faust_app import app

_WRITE_PARTITION: ContextVar[int | None] = ContextVar("window_table_partition", default=None)

WINDOW, MARK, SERVICE = "w|", "m|", "s|"


class PartitionedTable(faust.Table[Any, Any]):
    """A table whose writes go to the changelog partition named by ``writing_to``."""

    def partition_for_key(self, key: Any) -> int:
        partition = _WRITE_PARTITION.get()
        if partition is None:
            msg = f"table {self.name!r} written outside writing_to(partition) (key {key!r})"
            raise RuntimeError(msg)
        return partition


@contextmanager
def writing_to(partition: int) -> Iterator[None]:
    token = _WRITE_PARTITION.set(partition)
    try:
        yield
    finally:
        _WRITE_PARTITION.reset(token)


def _state(value: bytes | None) -> Any:
    return None if value is None else orjson.loads(value)


def _encode(state: dict[str, Any]) -> bytes:
    # as JSON does: non-string keys (sketch bins) become strings; from_state expects that.
    # orjson's result keeps its whole 4 KiB output buffer (tracemalloc: 4,097 bytes for a
    # short document); a copy holds just the ~300 bytes of a small window's state
    return bytes(memoryview(orjson.dumps(state, option=orjson.OPT_NON_STR_KEYS)))


class WindowBook:
    """Typed access to the window table (reads, writes and per-partition scans)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._parsed: dict[str, tuple[int, WindowKey | None]] = {}

    # -- open windows -----------------------------------------------------------------
    def window(self, key: WindowKey) -> OpenWindow | None:
        state = _state(self.table.get(WINDOW + key.table_key()))
        return None if state is None else OpenWindow.from_state(state)

    def put_window(self, key: WindowKey, window: OpenWindow) -> None:
        self.table[WINDOW + key.table_key()] = _encode(window.to_state())

    def drop_window(self, key: WindowKey) -> None:
        name = WINDOW + key.table_key()
        self._parsed.pop(name, None)
        self.table.pop(name, None)

    # -- partition marks --------------------------------------------------------------
    def mark(self, partition: int) -> PartitionMark:
        state = _state(self.table.get(f"{MARK}{partition}"))
        return PartitionMark(partition) if state is None else PartitionMark.from_state(state)

    def put_mark(self, mark: PartitionMark) -> None:
        self.table[f"{MARK}{mark.partition}"] = _encode(mark.to_state())

    # -- services ---------------------------------------------------------------------
    def service(self, name: str) -> ServiceSeen | None:
        state = _state(self.table.get(SERVICE + name))
        return None if state is None else ServiceSeen.from_state(state)

    def put_service(self, name: str, seen: ServiceSeen) -> None:
        self.table[SERVICE + name] = _encode(seen.to_state())

    def forget_service(self, name: str) -> None:
        self._parsed.pop(SERVICE + name, None)
        self.table.pop(SERVICE + name, None)

    # -- scans ------------------------------------------------------------------------
    def scan(self, partitions: set[int]) -> tuple[dict[int, list[WindowKey]],
                                                  dict[int, dict[str, ServiceSeen]]]:
        """Open windows and known services of ``partitions``, from the local store.

        The store may also hold standby copies of other partitions; every value names
        its partition, so those are left out. Parsed keys are remembered between scans.
        """
        windows: dict[int, list[WindowKey]] = {p: [] for p in partitions}
        services: dict[int, dict[str, ServiceSeen]] = {p: {} for p in partitions}
        parsed = self._parsed
        fresh: dict[str, tuple[int, WindowKey | None]] = {}
        data = self.table.data
        for name in list(data.keys()):
            if not isinstance(name, str):
                continue
            entry = parsed.get(name)
            if entry is None:
                state = _state(data.get(name))
                if state is None:
                    continue
                partition = int(state["p"])
                window = (WindowKey.from_table_key(name[len(WINDOW):])
                          if name.startswith(WINDOW) else None)
                entry = (partition, window)
            fresh[name] = entry
            partition, window = entry
            if partition not in partitions:
                continue
            if window is not None:
                windows[partition].append(window)
            elif name.startswith(SERVICE):
                state = _state(data.get(name))
                if state is not None:
                    services[partition][name[len(SERVICE):]] = ServiceSeen.from_state(state)
        self._parsed = fresh
        return windows, services


window_table = app.tables.add(PartitionedTable(
    app, name="windows", default=None, key_type=str, value_type=bytes,  # -> raw serializer
    help="Open event-time windows, partition watermarks and known services"))
book = WindowBook(window_table)
