"""The ``distinct_count`` rule type, in isolation (pure: state in, state out)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from logwarden_security.rules import DistinctCounter, DistinctCountRule

from app.core.alerting.engine import DictStore, Evaluator, Router
from app.core.alerting.loading import RuleLoadError, load_rules
from app.core.alerting.registry import RULE_TYPES, register_rule_type
from app.core.alerting.types.base import Binding

SPRAY = {"field": "attrs.user", "group_by": "attrs.source_ip", "threshold": 3,
         "timeframe_s": 60, "where": {"attrs.auth_result": ["failure", "invalid_user"]},
         "across": "service", "min_across": 2}


def failure(user: str, ts: float, *, ip: str = "203.0.113.9", service: str = "vpn",
            result: str = "failure") -> dict:
    return {"ts": ts, "service": service,
            "attrs": {"user": user, "source_ip": ip, "auth_result": result}}


def fold_all(rule: DistinctCounter, events: list[dict]) -> dict:
    state = None
    for event in events:
        assert rule.group_key(event) is not None
        state = rule.fold(state, event)
    assert state is not None
    return state


def test_fires_at_threshold_across_services() -> None:
    rule = DistinctCounter.from_config(SPRAY)
    state = fold_all(rule, [failure("a", 0), failure("b", 1, service="sso")])
    assert rule.check(state, 1) is None  # 2 users < 3
    state = rule.fold(state, failure("c", 2))
    observation = rule.check(state, 2)
    assert observation is not None
    assert observation.value == 3 and observation.threshold == 3
    assert observation.labels == {"attrs.source_ip": "203.0.113.9"}
    assert observation.evidence["service"] == ["sso", "vpn"]


def test_one_service_only_does_not_fire() -> None:
    rule = DistinctCounter.from_config(SPRAY)
    state = fold_all(rule, [failure(u, i) for i, u in enumerate("abcdef")])
    assert rule.check(state, 5) is None


def test_old_values_leave_the_time_frame() -> None:
    rule = DistinctCounter.from_config(SPRAY)
    state = fold_all(rule, [failure("a", 0), failure("b", 10, service="sso"),
                            failure("c", 100)])
    assert rule.check(state, 100) is None  # a and b are older than 60 s
    assert set(state["values"]) == {"c"}


def test_the_same_user_counts_once_and_order_does_not_matter() -> None:
    rule = DistinctCounter.from_config(SPRAY)
    events = [failure("a", 3), failure("a", 1, service="sso"), failure("b", 2),
              failure("c", 0, service="sso")]
    forward, backward = fold_all(rule, events), fold_all(rule, events[::-1])
    assert forward == backward
    assert len(forward["values"]) == 3


@pytest.mark.parametrize("event", [
    {"ts": 1, "attrs": {"user": "a", "source_ip": "1.2.3.4", "auth_result": "success"}},
    {"ts": 1, "attrs": {"user": "a", "auth_result": "failure"}},
    {"attrs": {"user": "a", "source_ip": "1.2.3.4", "auth_result": "failure"}},
])
def test_events_the_rule_ignores(event: dict) -> None:
    assert DistinctCounter.from_config(SPRAY).group_key(event) is None


def test_iso_timestamps_of_canonical_events() -> None:
    rule = DistinctCounter.from_config({**SPRAY, "across": None})
    state = fold_all(rule, [failure(u, f"2026-11-22T04:00:0{i}.000Z")  # type: ignore[arg-type]
                            for i, u in enumerate("abc")])
    assert rule.check(state, state["latest"]) is not None


@pytest.mark.parametrize(("options", "field"), [
    ({**SPRAY, "threshold": 1}, "threshold"),
    ({**SPRAY, "typo": 1}, "typo"),
    ({k: v for k, v in SPRAY.items() if k != "field"}, "field"),
])
def test_invalid_options_name_the_field(options: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DistinctCounter.from_config(options)


# -- the rule type of alert rule files (the alert engine's own RuleType) ----------------
SPRAY_RULE = """
name: password-spraying
type: distinct_count
filter: {fields: {attrs.auth_result: [failure, invalid_user]}}
group_by: [attrs.source_ip]
field: attrs.user
threshold: 3
timeframe: 1m
across: service
min_across: 2
routes: [security]
notify: {group_wait: 0s}
"""


@pytest.fixture(autouse=True)
def _engine_registry() -> Iterator[None]:
    """The engine's registry as it was: feeding it here must not leak into other tests."""
    before = dict(RULE_TYPES)
    yield
    RULE_TYPES.clear()
    RULE_TYPES.update(before)


def spray_engine() -> tuple[Router, Evaluator, DictStore]:
    from app.plugins import registry

    assert "distinct_count" in registry().feed("rule_types", register_rule_type)
    assert RULE_TYPES["distinct_count"] is DistinctCountRule
    rules = load_rules([("spray.yaml", SPRAY_RULE)], Binding((10, 60)))
    return Router(rules), Evaluator(rules), DictStore()


def run(events: list[dict]) -> list[tuple[str, str]]:
    router, evaluator, store = spray_engine()
    seen = []
    for event in events:
        for nkey, item in router.route_event(event, float(event["ts"])):
            out = evaluator.apply(store, nkey, [item], float(event["ts"]))
            seen += [(t.to_state, t.labels["source_ip"]) for t in out.transitions]
            seen += [(n.kind, n.title) for n in out.notifications]
    return seen


def test_the_rule_type_fires_through_the_alert_engine() -> None:
    seen = run([failure("a", 0), failure("b", 1, service="sso"),
                failure("x", 1.5, result="success"), failure("c", 2)])
    assert ("firing", "203.0.113.9") in seen
    assert ("firing", "[FIRING:1] password-spraying (source_ip=203.0.113.9)") in seen


def test_the_rule_type_needs_the_second_service_and_the_time_frame() -> None:
    assert run([failure(u, i) for i, u in enumerate("abcd")]) == []
    assert run([failure("a", 0), failure("b", 70, service="sso"), failure("c", 140)]) == []


def test_rule_file_errors_name_the_field() -> None:
    spray_engine()
    with pytest.raises(RuleLoadError, match="'timeframe'"):
        load_rules([("spray.yaml", SPRAY_RULE.replace("1m", "soon"))], Binding((10, 60)))
    rules = load_rules([("spray.yaml", SPRAY_RULE)], Binding((10, 60)))
    assert rules.rules[0].kind.describe() == (
        "at least 3 distinct attrs.user within 1m on at least 2 service value(s)")
