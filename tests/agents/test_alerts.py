"""The ``alerts`` agents under Faust's ``test_context`` (no broker): routing events onto
``alerts.keyed`` by notification group, and evaluating keyed items into transitions,
notifications and dead letters, with the default rules of ``alert_rules/``."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from faust.types import TP

import agents.alerts as alerts
from app import faust_app
from app.core.alerting.engine import group_key
from app.core.eventbatch import encode_event_batches
from app.core.events import iso_utc
from app.core.notification import Notification
from tables.windows import writing_to
from tests.agents.conftest import Captured

T0 = 1_800_000_000.0


def fatal(ts: float, service: str = "checkout") -> dict[str, Any]:
    return {"event_id": f"e-{service}-{ts}", "ts": iso_utc(ts), "service": service,
            "severity_number": 21, "severity_text": "FATAL", "is_error": True,
            "message": "panic: out of memory"}


def info(ts: float) -> dict[str, Any]:
    return {"event_id": f"i-{ts}", "ts": iso_utc(ts), "service": "checkout", "severity_number": 9,
            "severity_text": "INFO", "is_error": False, "message": "request completed"}


class Store:
    """Stands in for MongoDB alert history."""

    def __init__(self) -> None:
        self.transitions: list[dict[str, Any]] = []

    async def record_transitions(self, docs: list[dict[str, Any]]) -> None:
        self.transitions += docs


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Captured]:
    out = {name: Captured() for name in ("keyed", "outbox", "transitions", "dlq")}
    for name, topic in (("keyed", faust_app.alerts_keyed_topic),
                        ("outbox", faust_app.notifications_outbox_topic),
                        ("transitions", faust_app.alerts_transitions_topic),
                        ("dlq", faust_app.dlq_topic)):
        monkeypatch.setattr(topic, "send", out[name].mock)
    return out


@pytest.fixture()
def history(monkeypatch: pytest.MonkeyPatch) -> Store:
    """No silences topic and no MongoDB: the mute feed is ready and empty."""
    store = Store()
    monkeypatch.setattr(alerts.FEED, "start", lambda: None)
    alerts.FEED.ready.set()
    monkeypatch.setattr(alerts, "alert_store", lambda: store)
    monkeypatch.setattr(alerts.TABLE, "_send_changelog", lambda *a, **k: None, raising=False)
    return store


async def until(check: Any, what: str) -> None:
    for _ in range(100):  # the agents batch with a 0.2 s window
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what}")


async def test_events_are_routed_by_notification_group(
        fapp: Any, captured: dict[str, Captured]) -> None:
    [batch] = encode_event_batches([fatal(T0), info(T0 + 1), fatal(T0 + 2, "search")], 10**6)
    async with alerts.route_events.test_context() as agent:
        await agent.put(batch, key=b"checkout")
        await until(lambda: len(captured["keyed"].calls) >= 3, "alerts.keyed records")
    keyed = {c["key"].decode(): orjson.loads(c["value"])["items"]
             for c in captured["keyed"].calls}
    # fatal-event notifies per rule (one group), new-error-message per service
    assert set(keyed) == {"fatal-event", "new-error-message|service=checkout",
                          "new-error-message|service=search"}
    assert [(i["r"], i["g"], i["ts"]) for i in keyed["fatal-event"]] == [
        ("fatal-event", {"service": "checkout"}, T0),
        ("fatal-event", {"service": "search"}, T0 + 2)]  # the info event: not routed


@pytest.fixture()
def wall(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The wall clock notification scheduling reads (set ``wall[0]``), over an empty
    alert table."""
    for key in [k for k in list(alerts.TABLE.data) if str(k)[:2] in ("g|", "a|")]:
        del alerts.TABLE.data[key]
    now = [T0 + 1_000.0]
    monkeypatch.setattr(alerts, "wall_clock", lambda: now[0])
    return now


async def test_keyed_items_fire_notify_and_record_history(
        fapp: Any, captured: dict[str, Captured], history: Store, wall: list[float]) -> None:
    nkey = "fatal-event"
    routed = [alerts.ROUTER.route_event(fatal(ts), ts) for ts in (T0, T0 + 1)]
    routed = [[(n, i) for n, i in r if n == nkey] for r in routed]
    async with alerts.evaluate.test_context() as agent:
        await agent.put(orjson.dumps({"items": [routed[0][0][1]]}), key=nkey.encode())
        await until(lambda: captured["transitions"].calls, "firing transition")
        assert captured["outbox"].calls == []  # group_wait (30 s of wall time) not over
        # 31 s later on the wall clock, 1 s later in event time: group_wait is over
        wall[0] += 31
        await agent.put(orjson.dumps({"items": [routed[1][0][1]]}), key=nkey.encode())
        await until(lambda: captured["outbox"].calls, "notification")
        await agent.put(b"{not json", key=nkey.encode())
        await until(lambda: captured["dlq"].calls, "dead letter")

    docs = [orjson.loads(c["value"]) for c in captured["transitions"].calls]
    assert [(d["rule"], d["from"], d["to"], d["labels"]["service"]) for d in docs] == [
        ("fatal-event", "inactive", "pending", "checkout"),
        ("fatal-event", "pending", "firing", "checkout")]
    assert [d["_id"] for d in history.transitions] == [d["_id"] for d in docs]
    [sent] = captured["outbox"].calls
    note = Notification.from_json(sent["value"])
    assert sent["key"] == note.key.encode() and note.kind == "firing"
    assert note.group == nkey and note.routes == ("oncall",)
    assert note.title == "[FIRING:1] fatal-event (service=checkout)"
    [letter] = [orjson.loads(c["value"]) for c in captured["dlq"].calls]
    assert (letter["stage"], letter["reason"]) == ("alert", "rule_failed")


async def test_a_burst_that_goes_quiet_is_notified_by_the_timer_after_group_wait(
        fapp: Any, captured: dict[str, Captured], history: Store, wall: list[float],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """group_wait elapses in wall time: the timer flushes a group no later item touches,
    without waiting for the event-time clock's idle fallback (``alerting.idle_after_s``)."""
    nkey = "fatal-event"
    [item] = [i for n, i in alerts.ROUTER.route_event(fatal(T0), T0) if n == nkey]
    async with alerts.evaluate.test_context() as agent:
        await agent.put(orjson.dumps({"items": [item]}), key=nkey.encode())
        await until(lambda: captured["transitions"].calls, "firing transition")
    before = dict(alerts.TABLE[group_key(nkey)])
    assert before["due"] == wall[0] + 30  # group_wait of fatal-event, on the wall clock
    topic = faust_app.alerts_keyed_topic.get_topic_name()
    monkeypatch.setattr(faust_app.app.assignor, "assigned_actives",
                        lambda: {TP(topic, int(before["p"]))})
    assert await alerts.tick_due(wall[0] + 29.5) == 1  # event time has not moved: not due
    assert captured["outbox"].calls == []
    await alerts.tick_due(wall[0] + 30)
    [sent] = captured["outbox"].calls
    assert Notification.from_json(sent["value"]).kind == "firing"
    # a crash after publishing, before the table write: the restarted worker finds the
    # older state, whose due time is past, and sends at once under the same key
    with writing_to(int(before["p"])):
        alerts.TABLE[group_key(nkey)] = before
    await alerts.tick_due(wall[0] + 40)
    assert [c["key"] for c in captured["outbox"].calls] == [sent["key"], sent["key"]]


def test_alert_states_counts_owned_alerts_per_known_state() -> None:
    from types import SimpleNamespace

    from app.metrics import ALERT_STATES
    from tables.alerts import alert_states

    data = {
        "a|g|1": {"p": 0, "a": {"state": "firing"}},
        "a|g|2": {"p": 0, "a": {"state": "pending"}},
        "a|g|3": {"p": 1, "a": {"state": "firing"}},  # not owned
        "a|g|4": {"p": 0, "a": {"state": "weird"}},  # not a label value
        "g|g": {"p": 0, "members": {}},
    }
    counts = alert_states(SimpleNamespace(data=data), {0}, ALERT_STATES)
    assert counts == {"inactive": 0, "pending": 1, "firing": 1, "resolved": 0}
