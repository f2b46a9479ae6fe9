"""Lifecycle timing, Alertmanager-style grouping, repeats, silences, acks, inhibition,
and what a notification carries."""

from __future__ import annotations

from app.core.alerting.lifecycle import Alert, apply_verdict
from app.core.alerting.matchers import Matcher
from app.core.alerting.silences import Ack, Mutes, Silence
from app.core.alerting.types.base import Verdict
from app.core.notification import Notification
from tests.unit.alerting.helpers import Harness, rules, window

T0 = 1_700_000_000.0
RATE = """
name: err
type: threshold
group_by: [service]
metric: error_rate
value: 0.5
window: 10s
keep_firing_for: 0s
repeat_interval: 1m
routes: [oncall]
annotations: {summary: "{{ labels.service }} at {{ (value * 100) | round }}%"}
notify: {group_wait: 15s, group_interval: 30s}
"""


def run(h: Harness, service: str, errors: list[int], start: float = T0) -> None:
    for i, n in enumerate(errors):
        h.windows(window(service, start + 10 * i, errors=n))


def test_for_and_keep_firing_for() -> None:
    alert = Alert("r", "fp", {})
    steps = [(True, 0), (True, 20), (True, 30), (False, 40), (False, 55), (False, 70)]
    seen = []
    for active, at in steps:
        changes = apply_verdict(alert, Verdict(active, T0 + at, value=1.0), for_s=30,
                                keep_firing_for_s=20)
        seen += [(at, c.to_state) for c in changes]
    # firing needs 30 s of truth; resolved 20 s after the last true verdict (at 30)
    assert seen == [(0, "pending"), (30, "firing"), (55, "resolved")]
    assert alert.activation == 1 and alert.peak == 1.0


def test_pending_that_clears_goes_back_to_inactive() -> None:
    alert = Alert("r", "fp", {})
    apply_verdict(alert, Verdict(True, T0), for_s=60, keep_firing_for_s=0)
    changes = apply_verdict(alert, Verdict(False, T0 + 10), for_s=60, keep_firing_for_s=0)
    assert [c.to_state for c in changes] == ["inactive"] and alert.state == "inactive"


def test_group_wait_bundles_two_services_into_one_notification() -> None:
    h = Harness(rules(RATE, (10,)))
    run(h, "a", [80])
    run(h, "b", [90], T0 + 5)
    assert h.out.notifications == []
    h.tick(T0 + 10 + 15)
    [notice] = h.out.notifications
    assert notice.kind == "firing" and notice.group == "err"
    assert {a["group_labels"]["service"] for a in notice.alerts} == {"a", "b"}
    assert notice.title == "[FIRING:2] err" and notice.routes == ("oncall",)
    assert Notification.from_json(notice.to_json()) == notice


def test_repeat_and_resolve_carry_duration_peak_and_evidence() -> None:
    h = Harness(rules(RATE, (10,)))
    run(h, "a", [60, 90, 70])
    h.tick(T0 + 30)
    h.tick(T0 + 30 + 60)  # repeat_interval after the first notification
    run(h, "a", [0], T0 + 100)
    h.tick(T0 + 200)
    kinds = [n.kind for n in h.out.notifications]
    assert kinds == ["firing", "repeat", "resolved"]
    resolved = h.out.notifications[-1].alerts[0]
    assert resolved["peak"] == 0.9 and resolved["duration_s"] == 100.0
    firing = h.out.notifications[0]
    member = firing.alerts[0]
    assert member["annotations"]["summary"] == "a at 70.0%" or \
        member["annotations"]["summary"].startswith("a at ")
    assert member["evidence"]["top_routes"] == [["/api/cart", 100]]
    assert member["evidence"]["samples"] == ["70 x upstream timeout"]
    assert member["window"]["size_s"] == 10
    assert member["dashboard_url"].startswith("http://127.0.0.1:6066/search?q=service%3Aa&from=")
    assert "current 0.7 vs threshold 0.5" in firing.body
    assert "sample lines:" in firing.body and "search: http" in firing.body
    assert len({n.key for n in h.out.notifications}) == 3


def test_keys_are_the_same_when_the_same_input_is_replayed() -> None:
    keys = []
    for _ in range(2):
        h = Harness(rules(RATE, (10,)))
        run(h, "a", [60, 90, 90, 0])
        h.tick(T0 + 100)
        keys.append([n.key for n in h.out.notifications])
    assert keys[0] == keys[1] and len(keys[0]) == 2


def test_a_silence_suppresses_the_next_notification() -> None:
    mutes = Mutes()
    h = Harness(rules(RATE, (10,)), mutes=mutes)
    run(h, "a", [60, 90])
    h.tick(T0 + 40)
    silence = Silence.new(["service=a", "alertname=~e.*"], starts_at=T0 + 40, ends_at=T0 + 400,
                          created_by="me", comment="deploy", created_at=T0 + 40)
    mutes.apply(silence.to_doc())
    run(h, "a", [0], T0 + 50)
    h.tick(T0 + 200)
    assert [n.kind for n in h.out.notifications] == ["firing"]
    assert h.out.suppressed and "silenced by" in h.out.suppressed[-1][2]
    assert h.states("err")[-1] == "firing->resolved"  # the transition itself is kept
    mutes.apply(silence.expired(T0 + 300).to_doc())
    assert not mutes.silences[silence.id].active(T0 + 350)


def test_an_ack_pauses_repeats_of_that_activation() -> None:
    mutes = Mutes()
    h = Harness(rules(RATE, (10,)), mutes=mutes)
    run(h, "a", [60])
    h.tick(T0 + 30)
    fp = h.out.notifications[0].alerts[0]["fingerprint"]
    mutes.apply(Ack(fp, 1, "me", "on it", T0 + 31).to_doc())
    h.tick(T0 + 100)
    assert [n.kind for n in h.out.notifications] == ["firing"]
    assert "acknowledged" in h.out.suppressed[-1][2]


def test_inhibition_mutes_targets_while_the_source_fires() -> None:
    mutes = Mutes()
    h = Harness(rules("rules:\n  - " + RATE.strip().replace("\n", "\n    ") +
                      "\ninhibit_rules:\n  - source: {alertname: quiet}\n"
                      "    target: [alertname=err]\n    equal: [service]\n", (10,)),
                mutes=mutes)
    mutes.observe_transition({"fingerprint": "other", "to": "firing"},
                             {"alertname": "quiet", "service": "a"})
    run(h, "a", [60])
    run(h, "b", [60])
    h.tick(T0 + 30)
    [notice] = h.out.notifications
    assert [a["group_labels"]["service"] for a in notice.alerts] == ["b"]


def test_matchers() -> None:
    labels = {"service": "checkout", "severity": "critical"}
    assert Matcher.parse("service=checkout").matches(labels)
    assert Matcher.parse("service!=search").matches(labels)
    assert Matcher.parse("severity=~crit.*").matches(labels)
    assert not Matcher.parse('severity!~"crit.*"').matches(labels)
    assert not Matcher.parse("team=sre").matches(labels)
