"""Label matchers (Alertmanager style): ``name=value``, ``name!=value``, ``name=~regex``,
``name!~regex``. Silences and inhibition rules select alerts with them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"matcher operator must be =, !=, =~ or !~, not {self.op!r}")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"matcher {self.name}{self.op}{self.value}: invalid regular "
                                 f"expression: {exc}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        found = re.fullmatch(self.value, value) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER.match(text)
        if not found:
            raise ValueError(f"not a matcher: {text!r} (use name=value, name!=value, "
                             "name=~regex or name!~regex)")
        name, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        return cls(name, op, value)


def parse_matchers(value: Any) -> tuple[Matcher, ...]:
    """A mapping (``{service: checkout}``: equality) or a list of matcher strings."""
    if isinstance(value, Mapping):
        return tuple(Matcher(str(k), "=", str(v)) for k, v in value.items())
    if isinstance(value, str):
        return (Matcher.parse(value),)
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            if isinstance(item, Matcher):
                out.append(item)
            elif isinstance(item, str):
                out.append(Matcher.parse(item))
            else:
                raise ValueError(f"not a matcher: {item!r}")
        return tuple(out)
    raise ValueError("matchers are a mapping of label: value or a list of 'name=value' texts")


def all_match(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
