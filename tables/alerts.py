"""The alert table: notification groups and alert states, changelogged.

Keys (values are JSON, see ``app.core.alerting.engine``):

* ``g|<notification group>`` — the group's members, what was notified, flush times;
* ``a|<notification group>|<fingerprint>`` — one alert: its rule-type state (windows,
  baseline, timestamps), lifecycle and evidence.

Every value carries ``p``, the ``alerts.keyed`` partition it belongs to: writes name
that partition (``writing_to``), also from the evaluation timer where no event is being
processed, so a key's changelog records move with its partition on a rebalance.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.faust_app import app
from tables.windows import PartitionedTable, writing_to


class BufferedStore:
    """The evaluator's ``Store`` over the table for one partition, written on ``commit``.

    Nothing reaches the table (and its changelog) before the notifications and
    transitions the new state stands for are acknowledged by Kafka: a crash in between
    re-evaluates from the older state and produces the same notification keys again.
    """

    def __init__(self, table: Any, partition: int) -> None:
        self.table = table
        self.partition = partition
        self.pending: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        if key in self.pending:
            return self.pending[key]
        value = self.table.get(key)
        return None if value is None else orjson.loads(orjson.dumps(value))  # a deep copy

    def put(self, key: str, value: Any) -> None:
        self.pending[key] = {**value, "p": self.partition}

    def commit(self) -> None:
        with writing_to(self.partition):
            for key, value in self.pending.items():
                self.table[key] = value
        self.pending.clear()


def groups_of(table: Any, partitions: set[int]) -> dict[int, list[str]]:
    """Notification groups held for ``partitions`` in the local store."""
    out: dict[int, list[str]] = {p: [] for p in partitions}
    data = table.data
    for name in list(data.keys()):
        if not isinstance(name, str) or not name.startswith("g|"):
            continue
        value = data.get(name)
        if value is not None and int(value.get("p", -1)) in partitions:
            out[int(value["p"])].append(name[2:])
    return out


def alert_states(table: Any, partitions: set[int], known: tuple[str, ...]) -> dict[str, int]:
    """How many alerts of ``partitions`` are in each lifecycle state (``known`` states
    only: the metric's label set is closed), from the local store."""
    counts = dict.fromkeys(known, 0)
    data = table.data
    for name in list(data.keys()):
        if not isinstance(name, str) or not name.startswith("a|"):
            continue
        value = data.get(name)
        if value is None or int(value.get("p", -1)) not in partitions:
            continue
        state = (value.get("a") or {}).get("state")
        if state in counts:
            counts[state] += 1
    return counts


alert_table = app.tables.add(PartitionedTable(
    app, name="alerts", default=None, key_type=str,
    help="Alert rule state, lifecycle and notification groups"))
