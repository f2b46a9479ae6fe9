"""``extract``: fields from the message text of well-known programs, plus user rules.

The program is ``attrs["program"]`` (set by the syslog parsers; ``sshd(pam_unix)``,
``/usr/sbin/sshd`` and ``sshd[42]`` all mean ``sshd``). Without one, the message shape
decides (marker substrings, see ``programs.SHAPES``), except for HTTP events.
Built-in rules: ``programs.py``. User rules come from the config::

    extractors:
      - {program: myapp, regex: 'order (?P<order_id>\\d+) failed', contains: 'order '}
      - {service: billing, regex: 'invoice=(?P<invoice>\\S+)'}
      - {source: edge-1, regex: 'tenant=(?P<tenant>\\w+)'}

Each user rule selects events by exactly one of ``program``/``service``/``source``, may
name a ``contains`` literal that gates its regex, and turns named groups into attrs.
Extracted fields never overwrite a field the parser set; ``source_port`` becomes an int;
a ``source_ip`` that is not an IP address is stored as ``source_host``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from app.core.enrichment.options import Options
from app.core.enrichment.programs import BY_PROGRAM, SHAPES, Rule
from app.core.events import HttpInfo, LogEvent

DEFAULT_MAX_MESSAGE = 4096  # extraction looks at this prefix of the message
_SELECTORS = ("program", "service", "source")
_IP_CHARS = frozenset("0123456789abcdefABCDEF:.")
_HTTP_FIELDS = frozenset(("client_ip", "method", "path", "protocol"))


@lru_cache(maxsize=1024)
def normalise_program(raw: str) -> str:
    """``/usr/sbin/sshd[42]`` / ``sshd(pam_unix)`` / ``SSHD`` → ``sshd``."""
    name = raw.strip().lower().rsplit("/", 1)[-1]
    for stop in ("[", "(", ":"):
        name = name.partition(stop)[0]
    return name.strip()


def looks_like_ip(text: str) -> bool:
    return bool(text) and ("." in text or ":" in text) and _IP_CHARS.issuperset(text)


class UserExtractor:
    """One configured ``{program|service|source, regex, contains?}`` rule."""

    __slots__ = ("contains", "key", "regex", "value")

    def __init__(self, spec: Any, index: int) -> None:
        where = f"extractors[{index}]"
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where}: must be a mapping, got {type(spec).__name__}")
        unknown = sorted(set(spec) - {*_SELECTORS, "regex", "contains"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
        selectors = [key for key in _SELECTORS if key in spec]
        if len(selectors) != 1:
            raise ValueError(f"{where}: needs exactly one of program, service, source")
        self.key = selectors[0]
        value = spec[self.key]
        if not isinstance(value, str) or not value:
            raise ValueError(f"{where}: {self.key} must be a non-empty string")
        self.value = normalise_program(value) if self.key == "program" else value
        pattern, contains = spec.get("regex"), spec.get("contains")
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"{where}: regex must be a non-empty string")
        if contains is not None and (not isinstance(contains, str) or not contains):
            raise ValueError(f"{where}: contains must be a non-empty string")
        self.contains: str | None = contains
        try:
            self.regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{where}: invalid regex {pattern!r}: {exc}") from None
        if not self.regex.groupindex:
            raise ValueError(f"{where}: regex {pattern!r} has no named group "
                             "(use (?P<field>...) to name what it extracts)")

    def selects(self, program: str | None, event: LogEvent) -> bool:
        if self.key == "program":
            return program == self.value
        if self.key == "service":
            return event.service == self.value
        return event.source_name == self.value

    def apply(self, message: str) -> dict[str, Any] | None:
        if self.contains is not None and self.contains not in message:
            return None
        match = self.regex.search(message)
        if match is None:
            return None
        return {k: v for k, v in match.groupdict().items() if v}


def first_match(rules: Sequence[Rule], message: str) -> dict[str, Any] | None:
    for rule in rules:
        if rule.needle in message:
            fields = rule.apply(message)
            if fields:
                return fields
    return None


def store(event: LogEvent, fields: Mapping[str, Any]) -> None:
    """Add ``fields`` to the event without overwriting what is already there."""
    attrs = event.attrs
    for key, value in fields.items():
        if key.startswith("http."):
            name = key[5:]
            if name not in _HTTP_FIELDS or (name == "client_ip" and not looks_like_ip(value)):
                continue
            if event.http is None:
                event.http = HttpInfo()
            if getattr(event.http, name) is None:
                setattr(event.http, name, value)
            continue
        if key == "source_port":
            if not (isinstance(value, str) and value.isdigit() and len(value) <= 5):
                continue
            value = int(value)
        elif key == "source_ip" and not (  # looks_like_ip() inlined
                value and ("." in value or ":" in value) and _IP_CHARS.issuperset(value)):
            key = "source_host"
        if key not in attrs:
            attrs[key] = value


class ExtractEnricher:
    name = "extract"
    # enrich()'s first return, negated (see base.py): an HTTP event without a program
    runs_if = ("not (event.attrs.get('program') is None and event.http is not None "
               "and not self.extractors)")

    def __init__(self, *, extractors: Sequence[Any] = (), builtin: bool = True,
                 detect_by_shape: bool = True,
                 max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.extractors = tuple(UserExtractor(spec, i) for i, spec in enumerate(extractors))
        self.builtin = builtin
        self.detect_by_shape = detect_by_shape
        self.max_message = max_message

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> ExtractEnricher:
        opts = Options(cls.name, options)
        enricher = cls(extractors=opts.get("extractors", list, []),
                       builtin=opts.get("builtin", bool, True),
                       detect_by_shape=opts.get("detect_by_shape", bool, True),
                       max_message=opts.positive_int("max_message", DEFAULT_MAX_MESSAGE))
        opts.done()
        return enricher

    def builtin_fields(self, program: str | None, event: LogEvent,
                       message: str) -> dict[str, Any] | None:
        if program is not None:
            rules = BY_PROGRAM.get(program)
            return first_match(rules, message) if rules else None
        if not self.detect_by_shape or event.http is not None:
            return None  # access/request logs are not sshd or sudo lines
        for markers, rules in SHAPES:
            for marker in markers:
                if marker in message:
                    fields = first_match(rules, message)
                    if fields:
                        return fields
                    break
        return None

    def enrich(self, event: LogEvent) -> None:
        raw = event.attrs.get("program")
        if raw is None and event.http is not None and not self.extractors:
            return  # access/request logs: nothing to extract (the common case)
        message = event.message
        if not isinstance(message, str) or not message:
            return
        if len(message) > self.max_message:
            message = message[:self.max_message]
        program = normalise_program(raw) if isinstance(raw, str) and raw else None
        if self.builtin:
            fields = self.builtin_fields(program or None, event, message)
            if fields:
                store(event, fields)
        for extractor in self.extractors:
            if extractor.selects(program, event):
                fields = extractor.apply(message)
                if fields:
                    store(event, fields)
