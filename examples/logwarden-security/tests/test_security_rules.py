"""The ``distinct_count`` rule type, in isolation (pure: state in, state out)."""

from __future__ import annotations

import pytest
from logwarden_security.rules import DistinctCountRule

SPRAY = {"field": "attrs.user", "group_by": "attrs.source_ip", "threshold": 3,
         "timeframe_s": 60, "where": {"attrs.auth_result": ["failure", "invalid_user"]},
         "across": "service", "min_across": 2}


def failure(user: str, ts: float, *, ip: str = "203.0.113.9", service: str = "vpn",
            result: str = "failure") -> dict:
    return {"ts": ts, "service": service,
            "attrs": {"user": user, "source_ip": ip, "auth_result": result}}


def fold_all(rule: DistinctCountRule, events: list[dict]) -> dict:
    state = None
    for event in events:
        assert rule.group_key(event) is not None
        state = rule.fold(state, event)
    assert state is not None
    return state


def test_fires_at_threshold_across_services() -> None:
    rule = DistinctCountRule.from_config(SPRAY)
    state = fold_all(rule, [failure("a", 0), failure("b", 1, service="sso")])
    assert rule.check(state, 1) is None  # 2 users < 3
    state = rule.fold(state, failure("c", 2))
    observation = rule.check(state, 2)
    assert observation is not None
    assert observation.value == 3 and observation.threshold == 3
    assert observation.labels == {"attrs.source_ip": "203.0.113.9"}
    assert observation.evidence["service"] == ["sso", "vpn"]


def test_one_service_only_does_not_fire() -> None:
    rule = DistinctCountRule.from_config(SPRAY)
    state = fold_all(rule, [failure(u, i) for i, u in enumerate("abcdef")])
    assert rule.check(state, 5) is None


def test_old_values_leave_the_time_frame() -> None:
    rule = DistinctCountRule.from_config(SPRAY)
    state = fold_all(rule, [failure("a", 0), failure("b", 10, service="sso"),
                            failure("c", 100)])
    assert rule.check(state, 100) is None  # a and b are older than 60 s
    assert set(state["values"]) == {"c"}


def test_the_same_user_counts_once_and_order_does_not_matter() -> None:
    rule = DistinctCountRule.from_config(SPRAY)
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
    assert DistinctCountRule.from_config(SPRAY).group_key(event) is None


def test_iso_timestamps_of_canonical_events() -> None:
    rule = DistinctCountRule.from_config({**SPRAY, "across": None})
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
        DistinctCountRule.from_config(options)
