"""Rules from YAML text, validated, with errors that name file, rule and field.

A file holds one rule (a mapping with ``name``), a list of rules, or a mapping with
``rules:`` (a list) and optionally ``inhibit_rules:``. The keys of a rule that are not
common fields (``RuleSpec``) are the options of its ``type`` and validated by the type's
own ``Config``. Every problem in every file is collected before anything is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from app.core.alerting.models import InhibitRule, Rule, RuleSet, RuleSpec
from app.core.alerting.registry import RULE_TYPES
from app.core.alerting.types.base import Binding

_COMMON = {f.alias or name for name, f in RuleSpec.model_fields.items()}


@dataclass(frozen=True, slots=True)
class RuleIssue:
    file: str
    rule: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.rule is not None:
            where.append(f"rule {self.rule!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return ": ".join(where) + f": {self.message}"


class RuleLoadError(ValueError):
    """One or more rule files are invalid; ``issues`` names each problem."""

    def __init__(self, issues: list[RuleIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def _pydantic_issues(exc: ValidationError, file: str, rule: str | None,
                     prefix: str = "") -> list[RuleIssue]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        name = prefix + loc if loc else (prefix.rstrip(".") or None)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown option"
        out.append(RuleIssue(file, rule, name, message))
    return out


def _documents(text: str, file: str) -> tuple[list[Any], list[Any], list[RuleIssue]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [], [RuleIssue(file, None, None, f"not valid YAML: {exc}")]
    if data is None:
        return [], [], []
    if isinstance(data, list):
        return data, [], []
    if isinstance(data, Mapping):
        if "urls" in data and "rules" not in data:
            return [], [], []  # Apprise's channel configuration, read by the notify agent
        if "name" in data:
            return [data], [], []
        unknown = sorted(set(data) - {"rules", "inhibit_rules"})
        issues = [RuleIssue(file, None, key, "unknown top-level key (expected rules, "
                                             "inhibit_rules)") for key in unknown]
        rules, inhibit = data.get("rules") or [], data.get("inhibit_rules") or []
        if not isinstance(rules, list):
            issues.append(RuleIssue(file, None, "rules", "must be a list of rules"))
            rules = []
        if not isinstance(inhibit, list):
            issues.append(RuleIssue(file, None, "inhibit_rules", "must be a list"))
            inhibit = []
        return rules, inhibit, issues
    return [], [], [RuleIssue(file, None, None, "expected a rule, a list of rules or a "
                                                "mapping with rules:")]


def build_rule(raw: Any, file: str, index: int, binding: Binding) -> tuple[Rule | None,
                                                                           list[RuleIssue]]:
    if not isinstance(raw, Mapping):
        return None, [RuleIssue(file, f"#{index + 1}", None, "a rule is a mapping")]
    name = str(raw.get("name") or f"#{index + 1}")
    kind_name = raw.get("type")
    cls = RULE_TYPES.get(str(kind_name)) if kind_name is not None else None
    issues: list[RuleIssue] = []
    if cls is None:
        known = ", ".join(sorted(RULE_TYPES))
        issues.append(RuleIssue(file, name, "type", "missing rule type" if kind_name is None
                                else f"unknown rule type {kind_name!r} (known: {known})"))
    common = {k: v for k, v in raw.items() if k in _COMMON}
    options = {k: v for k, v in raw.items() if k not in _COMMON}
    spec = None
    try:
        spec = RuleSpec.model_validate(common)
    except ValidationError as exc:
        issues += _pydantic_issues(exc, file, name)
    if cls is None:
        return None, issues + [RuleIssue(file, name, key, "unknown option")
                               for key in options]
    try:
        config = cls.Config.model_validate(options)
    except ValidationError as exc:
        issues += _pydantic_issues(exc, file, name)
        return None, issues
    if spec is None:
        return None, issues
    kind = cls(config, spec)
    bound = Binding(binding.window_sizes)
    kind.bind(bound)
    issues += [RuleIssue(file, name, i.field, i.message) for i in bound.issues]
    return (None if issues else Rule(spec, kind, file)), issues


def load_rules(sources: Iterable[tuple[str, str]], binding: Binding | None = None,
               *, include_disabled: bool = False) -> RuleSet:
    """Rules of every ``(file name, YAML text)``; ``RuleLoadError`` lists every problem."""
    binding = binding or Binding()
    issues: list[RuleIssue] = []
    rules: list[Rule] = []
    inhibit: list[InhibitRule] = []
    seen: dict[str, str] = {}
    for file, text in sources:
        raw_rules, raw_inhibit, found = _documents(text, file)
        issues += found
        for index, raw in enumerate(raw_rules):
            rule, problems = build_rule(raw, file, index, binding)
            issues += problems
            if rule is None:
                continue
            if rule.name in seen:
                issues.append(RuleIssue(file, rule.name, "name",
                                        f"duplicate rule name (also in {seen[rule.name]})"))
                continue
            seen[rule.name] = file
            if rule.spec.enabled or include_disabled:
                rules.append(rule)
        for index, raw in enumerate(raw_inhibit):
            try:
                inhibit.append(InhibitRule.model_validate(raw))
            except ValidationError as exc:
                issues += _pydantic_issues(exc, file, f"inhibit_rules[{index}]")
    if issues:
        raise RuleLoadError(issues)
    return RuleSet.of(rules, inhibit)
