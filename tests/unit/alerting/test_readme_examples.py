"""Every YAML example in alert_rules/README.md is a valid rule file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.alerting.loading import load_rules
from app.core.alerting.types.base import Binding

README = Path(__file__).resolve().parents[3] / "alert_rules" / "README.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_an_example_per_rule_type() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates(example: str) -> None:
    loaded = load_rules([("README.md", example)], Binding((10, 60)))
    assert loaded.rules or loaded.inhibit
