"""Notification scheduling on the wall clock, rule evaluation on event time.

As in Alertmanager, ``group_wait`` runs from the moment the engine learns of a group's
first change, ``group_interval`` and ``repeat_interval`` from the previous flush, all in
wall time (``wall``), while ``for``, windows, ``quiet`` and ``keep_firing_for`` follow
event time (``now``). Each case is a script of steps and the notifications expected
after each one.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.core.alerting.engine import DictStore
from tests.unit.alerting.helpers import Harness, event, rules

T0 = 1_700_000_000.0  # event time
W = 1_800_000_000.0  # wall time: far from event time, as in a replay
RULE = """
name: boom
type: any
filter: {{severity: fatal}}
group_by: [service]
quiet: 1m
repeat_interval: 5m
routes: [oncall]
notify: {{group_wait: {wait}, group_interval: 30s}}
"""

# step: ("e", event time, wall, service) an event; ("t", event time, wall) a timer tick
# expected: after each step, the kinds of the notifications sent by it
Step = tuple[Any, ...]
CASES: dict[str, tuple[str, list[Step], list[list[str]]]] = {
    "a burst that goes quiet is sent group_wait later on the wall clock": (
        "10s", [("e", T0, W, "a"), ("t", T0, W + 9.9), ("t", T0, W + 10)],
        [[], [], ["firing"]]),
    "group_wait 0 sends with the evaluation of the crossing event": (
        "0s", [("e", T0, W, "a")], [["firing"]]),
    "event time racing ahead (a backlog) does not cut group_wait short": (
        "10s", [("e", T0, W, "a"), ("e", T0 + 50, W + 1, "b"), ("t", T0 + 50, W + 2),
                ("t", T0 + 50, W + 10)],
        [[], [], [], ["firing"]]),
    "group_wait runs from the first change, not the latest": (
        "10s", [("e", T0, W, "a"), ("e", T0 + 1, W + 8, "b"), ("t", T0 + 1, W + 10)],
        [[], [], ["firing"]]),
    "a later change waits group_interval after the previous flush": (
        "0s", [("e", T0, W, "a"), ("e", T0 + 1, W + 1, "b"), ("t", T0 + 1, W + 29.9),
               ("t", T0 + 1, W + 30)],
        [["firing"], [], [], ["firing"]]),
    "a change after group_interval has passed goes out at once": (
        "0s", [("e", T0, W, "a"), ("e", T0 + 40, W + 40, "b")], [["firing"], ["firing"]]),
    "repeat_interval runs on the wall clock": (
        "0s", [("e", T0, W, "a"), ("t", T0 + 1, W + 299), ("t", T0 + 1, W + 300)],
        [["firing"], [], ["repeat"]]),
    "resolving follows event time (quiet), not the wall clock": (
        "0s", [("e", T0, W, "a"), ("t", T0 + 30, W + 3000), ("t", T0 + 60, W + 3029),
               ("t", T0 + 60, W + 3030)],
        [["firing"], ["repeat"], [], ["resolved"]]),
    "the resolve notice waits group_interval after the firing one": (
        "0s", [("e", T0, W, "a"), ("t", T0 + 60, W + 10), ("t", T0 + 60, W + 30)],
        [["firing"], [], ["resolved"]]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_notification_timing(case: str) -> None:
    wait, steps, expected = CASES[case]
    h = Harness(rules(RULE.format(wait=wait)))
    seen: list[list[str]] = []
    for step in steps:
        before = len(h.out.notifications)
        if step[0] == "e":
            h.events(event(step[1], step[3], severity=21), wall=step[2])
        else:
            h.tick(step[1], step[2])
        seen.append([n.kind for n in h.out.notifications[before:]])
    assert seen == expected


def test_notices_carry_event_time_and_the_due_time_is_stored() -> None:
    h = Harness(rules(RULE.format(wait="10s")))
    h.events(event(T0, "a", severity=21), wall=W)
    [group] = [v for k, v in h.store.data.items() if k.startswith("g|")]
    assert group["due"] == W + 10 and group["last_flush"] is None
    h.tick(T0 + 3, W + 10)
    [notice] = h.out.notifications
    assert notice.created_at == T0 + 3  # event time, whatever the wall clock says
    assert group["last_flush"] == W + 10 and group["due"] is None


def test_a_restart_past_the_due_time_sends_at_once_with_the_same_key() -> None:
    """The table (here: a copy of the store) holds the wall time a flush is due; a worker
    that starts after it sends on its first tick, under the key the first one used."""
    first = Harness(rules(RULE.format(wait="10s")))
    first.events(event(T0, "a", severity=21), wall=W)
    saved = copy.deepcopy(first.store.data)
    first.tick(T0, W + 10)
    [sent] = first.out.notifications

    restarted = Harness(rules(RULE.format(wait="10s")))
    restarted.store = DictStore()
    restarted.store.data.update(saved)
    restarted.groups = set(first.groups)
    restarted.tick(T0, W + 100)  # down for 90 s: event time has not moved
    [again] = restarted.out.notifications
    assert (again.key, again.kind) == (sent.key, sent.kind)


def test_without_a_wall_clock_scheduling_runs_on_event_time() -> None:
    """Back-testing (``logwarden rules test``) passes event time only."""
    h = Harness(rules(RULE.format(wait="10s")))
    h.events(event(T0, "a", severity=21))
    h.tick(T0 + 9)
    assert h.out.notifications == []
    h.tick(T0 + 10)
    assert [n.kind for n in h.out.notifications] == ["firing"]
