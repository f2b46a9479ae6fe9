"""Rule types by name: a plain registry that plugins may add to."""

from __future__ import annotations

from app.core.alerting.types.anymatch import AnyRule
from app.core.alerting.types.base import RuleType
from app.core.alerting.types.flatline import FlatlineRule
from app.core.alerting.types.frequency import FrequencyRule
from app.core.alerting.types.new_term import NewTermRule
from app.core.alerting.types.percentage_match import PercentageMatchRule
from app.core.alerting.types.spike import SpikeRule
from app.core.alerting.types.threshold import ThresholdRule

RULE_TYPES: dict[str, type[RuleType]] = {}


def register_rule_type(name: str, cls: type[RuleType]) -> None:
    """Make ``cls`` the rule type called ``name``; a name is registered once."""
    if not isinstance(cls, type) or not issubclass(cls, RuleType):
        raise TypeError(f"rule type {name!r}: {cls!r} is not a RuleType subclass")
    existing = RULE_TYPES.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"rule type {name!r} is already registered ({existing.__qualname__})")
    RULE_TYPES[name] = cls


for _cls in (ThresholdRule, FrequencyRule, AnyRule, SpikeRule, FlatlineRule, NewTermRule,
             PercentageMatchRule):
    register_rule_type(_cls.name, _cls)
