"""Which events (or closed windows) a rule looks at: the ``filter`` of a rule.

A filter is a conjunction: every condition given must hold. Field paths are dotted
(``http.status``, ``attrs.source_ip``) into the canonical event document.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: OpenTelemetry severity bands, by the lowest number of each band.
SEVERITY_FLOOR = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "warning": 13, "error": 17,
                  "fatal": 21, "critical": 21}


def field_value(doc: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of ``doc`` (None when any step is missing)."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
        if value is None:
            return None
    return value


def label_name(path: str) -> str:
    """The label a ``group_by`` path becomes: its last segment (``attrs.source_ip`` ->
    ``source_ip``)."""
    return path.rsplit(".", 1)[-1]


def check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    return value


class FieldCondition(BaseModel):
    """One field's condition; a bare value means ``eq``, a list means ``in``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    not_in: list[Any] | None = None
    regex: str | None = None
    prefix: str | None = None
    exists: bool | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"in": value}
        if not isinstance(value, dict):
            return {"eq": value}
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    def holds(self, value: Any) -> bool:
        if self.exists is not None and (value is not None) != self.exists:
            return False
        if value is None:  # a missing field satisfies only negative conditions
            positive = (self.eq, self.in_, self.regex, self.prefix, self.gt, self.gte,
                        self.lt, self.lte)
            return all(p is None for p in positive)
        if self.eq is not None and not _same(value, self.eq):
            return False
        if self.ne is not None and _same(value, self.ne):
            return False
        if self.in_ is not None and not any(_same(value, v) for v in self.in_):
            return False
        if self.not_in is not None and any(_same(value, v) for v in self.not_in):
            return False
        if self.regex is not None and not _regex(self.regex).search(str(value)):
            return False
        if self.prefix is not None and not str(value).startswith(self.prefix):
            return False
        return self._compares(value)

    def _compares(self, value: Any) -> bool:
        bounds = (self.gt, self.gte, self.lt, self.lte)
        if all(b is None for b in bounds):
            return True
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return ((self.gt is None or number > self.gt) and (self.gte is None or number >= self.gte)
                and (self.lt is None or number < self.lt)
                and (self.lte is None or number <= self.lte))


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value is wanted or str(value).lower() == str(wanted).lower()
    if isinstance(wanted, int | float) and not isinstance(value, str):
        return bool(value == wanted)
    return str(value) == str(wanted)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        compiled = _REGEX_CACHE[pattern] = re.compile(pattern)
    return compiled


class EventFilter(BaseModel):
    """What a rule matches. Every condition given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: list[str] | None = Field(
        None, description="service names or shell patterns (checkout, pay*)")
    severity: str | None = Field(None, description="at least this severity: debug, info, "
                                                   "warn, error, fatal")
    is_error: bool | None = None
    message: str | None = Field(None, description="text the message contains (any case)")
    message_regex: str | None = None
    fields: dict[str, FieldCondition] = Field(default_factory=dict)

    @field_validator("service", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in SEVERITY_FLOOR:
            known = ", ".join(sorted(set(SEVERITY_FLOOR)))
            raise ValueError(f"unknown severity {value!r} (known: {known})")
        return None if value is None else value.lower()

    @field_validator("message_regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    @property
    def event_conditions(self) -> list[str]:
        """Names of conditions that need an event (closed windows have none of them)."""
        names = ["severity", "is_error", "message", "message_regex"]
        out = [name for name in names if getattr(self, name) is not None]
        return out + (["fields"] if self.fields else [])

    def matches_service(self, service: str) -> bool:
        return self.service is None or any(
            fnmatch.fnmatchcase(service, pattern) for pattern in self.service)

    def matches(self, doc: Mapping[str, Any]) -> bool:
        if not self.matches_service(str(doc.get("service") or "")):
            return False
        if self.severity is not None and int(doc.get("severity_number") or 0) < \
                SEVERITY_FLOOR[self.severity]:
            return False
        if self.is_error is not None and bool(doc.get("is_error")) != self.is_error:
            return False
        message = doc.get("message")
        if self.message is not None and self.message.lower() not in str(message or "").lower():
            return False
        if self.message_regex is not None and not _regex(self.message_regex).search(
                str(message or "")):
            return False
        return all(cond.holds(field_value(doc, path)) for path, cond in self.fields.items())

    def kql(self) -> list[str]:
        """The filter as KQL clauses (for the dashboard search link)."""
        clauses = []
        if self.service:
            names = " OR ".join(_kql_value(s) for s in self.service)
            clauses.append(f"service:{names}" if len(self.service) == 1
                           else f"service:({names})")
        if self.severity is not None:
            clauses.append(f"level:{self.severity}")
        if self.is_error is not None:
            clauses.append(f"is_error:{str(self.is_error).lower()}")
        if self.message is not None:
            clauses.append(f"message:{_kql_value(self.message)}")
        for path, cond in self.fields.items():
            if cond.eq is not None:
                clauses.append(f"{path}:{_kql_value(cond.eq)}")
            elif cond.in_:
                clauses.append(f"{path}:(" + " OR ".join(_kql_value(v) for v in cond.in_) + ")")
        return clauses


def _kql_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if re.fullmatch(r"[\w.*\-/]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kql_label(name: str, value: Any) -> str:
    return f"{name}:{_kql_value(value)}"
