"""Rule files: valid ones load, bad ones fail with file, rule and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.rule_files import load_rule_paths
from app.core.alerting.durations import parse_duration
from app.core.alerting.loading import RuleLoadError, load_rules
from app.core.alerting.registry import RULE_TYPES, register_rule_type
from app.core.alerting.types.base import Binding
from app.core.alerting.types.threshold import ThresholdRule

ROOT = Path(__file__).resolve().parents[3]

BAD = [
    ("name: a\ntype: nope\n", "a", "type", "unknown rule type 'nope'"),
    ("name: a\ntype: threshold\nvalue: 1\n", "a", "metric", "Field required"),
    ("name: a\ntype: threshold\nmetric: errors\nvalue: 1\nbogus: 2\n", "a", "bogus",
     "unknown option"),
    ("name: a\ntype: threshold\nmetric: errors\nvalue: 1\nfor: soon\n", "a", "for",
     "not a duration"),
    ("name: a\ntype: threshold\nmetric: errors\nvalue: 1\nwindow: 15s\n", "a", "window",
     "not a whole number"),
    ("name: a\ntype: threshold\nmetric: latency_p95\nvalue: 1\nwindow: 5m\n", "a", "window",
     "percentiles do not add up"),
    ("name: a\ntype: threshold\nmetric: status_rate\nvalue: 1\n", "a", None,
     "needs status_class"),
    ("name: a\ntype: flatline\ngroup_by: [http.client_ip]\n", "a", "group_by",
     "group by service only"),
    ("name: a\ntype: spike\nfilter: {severity: error}\n", "a", "filter", "carry no severity"),
    ("name: a\ntype: any\nannotations: {summary: '{{ labels.x '}\n", "a", "annotations",
     "does not compile"),
    ("name: a\ntype: any\nfilter: {message_regex: '('}\n", "a", "filter.message_regex",
     "invalid regular expression"),
    ("name: a\ntype: any\nfilter: {severity: loud}\n", "a", "filter.severity",
     "unknown severity"),
    ("name: a\ntype: frequency\ncount: 0\nwithin: 1m\n", "a", "count", "greater than"),
    ("name: a\ntype: any\nnotify: {group_by: [service]}\n", "a", None, "notify.group_by"),
    ("name: a\ntype: percentage_match\nvalue: 150\nmatch: {}\n", "a", "value", "less than"),
    ("name: a\ntype: any\nlabels: {alertname: x}\n", "a", "labels", "alertname"),
    ("- name: a\n  type: any\n- name: a\n  type: any\n", "a", "name", "duplicate rule name"),
    ("rules: [{name: a, type: any}]\nextra: 1\n", None, "extra", "unknown top-level key"),
    ("rules:\n  - {name: a, type: any}\ninhibit_rules:\n  - {source: {a: b}, target: 'x~~y'}\n",
     "inhibit_rules[0]", "target", "not a matcher"),
]


@pytest.mark.parametrize(("text", "rule", "field", "message"), BAD)
def test_bad_rules_name_file_rule_and_field(text: str, rule: str | None, field: str | None,
                                            message: str) -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_rules([("rules/bad.yaml", text)], Binding((10, 60)))
    issues = caught.value.issues
    assert any(i.file == "rules/bad.yaml" and i.rule == rule and i.field == field
               and message in i.message for i in issues), issues
    assert "rules/bad.yaml" in str(caught.value)


def test_every_problem_of_every_file_is_reported() -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_rules([("a.yaml", "name: x\ntype: nope\n"),
                    ("b.yaml", "name: y\ntype: any\nquiet: -1\nnope: 1\n")])
    assert {(i.file, i.rule) for i in caught.value.issues} == {("a.yaml", "x"), ("b.yaml", "y")}
    assert len(caught.value.issues) == 3


def test_shapes_of_a_rule_file() -> None:
    single = load_rules([("f", "name: a\ntype: any\n")])
    listed = load_rules([("f", "- {name: a, type: any}\n- {name: b, type: any}\n")])
    mapped = load_rules([("f", "rules: [{name: a, type: any, enabled: false}]\n"
                               "inhibit_rules: [{source: {alertname: a}, "
                               "target: [severity=~warn.*], equal: [service]}]\n")])
    assert [r.name for r in single.rules] == ["a"]
    assert [r.name for r in listed.rules] == ["a", "b"]
    assert mapped.rules == () and len(mapped.inhibit) == 1
    assert load_rules([("f", "")]).rules == ()


@pytest.mark.parametrize("sizes", [(10, 60), (10,)])
def test_the_default_rule_set_is_valid(sizes: tuple[int, ...]) -> None:
    rules = load_rule_paths([ROOT / "alert_rules"], sizes)
    builtin = {name for name, cls in RULE_TYPES.items() if cls.__module__.startswith("app.")}
    assert {r.spec.type for r in rules.rules} == builtin  # plugins' types may be fed too
    assert rules.inhibit


def test_missing_directory_is_an_error() -> None:
    with pytest.raises(RuleLoadError, match="no such rule file"):
        load_rule_paths([ROOT / "no-such-dir"], (10,))


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("1h30m", 5400), ("7d", 604800), ("250ms", 0.25), (12, 12),
    ("2.5", 2.5)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-1", -5, True, "5x", ""])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_registry_refuses_a_second_class_under_one_name() -> None:
    register_rule_type("threshold", ThresholdRule)  # the same class again: fine
    with pytest.raises(ValueError, match="already registered"):
        register_rule_type("threshold", RULE_TYPES["any"])
    with pytest.raises(TypeError):
        register_rule_type("x", dict)  # type: ignore[arg-type]
