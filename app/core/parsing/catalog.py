"""Every parser by name, per-source rules, and the order auto-detection tries them in.

A parser is built per (format, time zone): formats whose timestamps carry no zone
(RFC 3164 syslog, Python ``logging``, Apache/nginx error logs, user patterns) read the
zone from the source's rule. Source rules match the Kafka key (the source name) with
shell-style patterns, first match wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from app.core.parsing.apache_error import ApacheErrorParser
from app.core.parsing.base import Parser
from app.core.parsing.http_access import HttpAccessParser
from app.core.parsing.json_lines import JsonLinesParser
from app.core.parsing.logfmt import LogfmtParser
from app.core.parsing.nginx_error import NginxErrorParser
from app.core.parsing.pattern import PatternParser
from app.core.parsing.plain import PlainTextParser
from app.core.parsing.python_logging import PythonLoggingParser
from app.core.parsing.syslog import SyslogParser
from app.core.parsing.syslog3164 import Syslog3164Parser
from app.core.parsing.syslog5424 import Syslog5424Parser

ParserFactory = Callable[[str], Parser]  # time zone -> parser


# Named factories: the ``logwarden.parsers`` entry points of pyproject.toml point at these
# (and at the parser classes that take the zone themselves).
def json_parser(_tz: str) -> Parser:
    return JsonLinesParser()


def http_access_parser(_tz: str) -> Parser:
    return HttpAccessParser("http_access")


def apache_common_parser(_tz: str) -> Parser:
    return HttpAccessParser("apache_common")


def apache_combined_parser(_tz: str) -> Parser:
    return HttpAccessParser("apache_combined")


def nginx_combined_parser(_tz: str) -> Parser:
    return HttpAccessParser("nginx_combined")


def nginx_main_parser(_tz: str) -> Parser:
    return HttpAccessParser("nginx_main")


def syslog5424_parser(_tz: str) -> Parser:
    return Syslog5424Parser()


def logfmt_parser(_tz: str) -> Parser:
    return LogfmtParser()


def plain_parser(_tz: str) -> Parser:
    return PlainTextParser()


#: The built-in parsers. The worker, the gateway and ``logwarden parse`` build their
#: catalog from the ``logwarden.parsers`` entry points instead (``app.plugins``), which
#: declare exactly these (a unit test keeps the two equal); this is the default for
#: code without an installed distribution (unit tests, benchmarks).
BUILTIN: dict[str, ParserFactory] = {
    "json": json_parser,
    "http_access": http_access_parser,
    "apache_common": apache_common_parser,
    "apache_combined": apache_combined_parser,
    "nginx_combined": nginx_combined_parser,
    "nginx_main": nginx_main_parser,
    "syslog": SyslogParser,
    "syslog3164": Syslog3164Parser,
    "syslog5424": syslog5424_parser,
    "python": PythonLoggingParser,
    "apache_error": ApacheErrorParser,
    "nginx_error": NginxErrorParser,
    "logfmt": logfmt_parser,
    "plain": plain_parser,
}

#: Tried in this order on text that does not start with ``{``; the first whose cheap
#: ``matches`` accepts the line parses it. Text nothing accepts becomes a plain event.
DETECTION_ORDER = ("syslog", "http_access", "python", "apache_error", "nginx_error", "logfmt")


@dataclass(frozen=True, slots=True)
class PatternDef:
    """A user-defined format: named-group regex plus timestamp format."""

    name: str
    regex: str
    timestamp_format: str | None = None
    timezone: str = "UTC"
    field_map: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceRule:
    """What to assume about records from sources whose name matches ``match``."""

    match: str
    format: str | None = None
    service: str | None = None
    timezone: str | None = None


class ParserCatalog:
    """Parsers by name (registered and user patterns) and source rules; validated up front.

    ``factories`` are the registered parsers (name -> factory taking a time zone); the
    default is ``BUILTIN``. Every registered format must be able to parse, detect and
    fall back, so ``json`` and ``plain`` are required.
    """

    def __init__(self, patterns: Sequence[PatternDef] = (), rules: Sequence[SourceRule] = (),
                 default_timezone: str = "UTC", *,
                 factories: Mapping[str, ParserFactory] | None = None) -> None:
        self.default_timezone = default_timezone
        registered = BUILTIN if factories is None else factories
        missing = [name for name in ("json", "plain") if name not in registered]
        if missing:
            raise ValueError(f"no parser registered for {', '.join(missing)} (required)")
        self._factories: dict[str, ParserFactory] = dict(registered)
        for pattern in patterns:
            if pattern.name in self._factories:
                taken_by = "registered parser" if pattern.name in registered else "pattern"
                raise ValueError(f"pattern {pattern.name!r}: the name is taken by a {taken_by}")
            self._factories[pattern.name] = _pattern_factory(pattern)
            self._factories[pattern.name](pattern.timezone)  # validate now, not on first line
        for index, rule in enumerate(rules):
            if rule.format is not None and rule.format not in self._factories:
                raise ValueError(f"source rule {index} ({rule.match!r}): unknown format "
                                 f"{rule.format!r} (known: {', '.join(self.names)})")
            if rule.timezone is not None:
                BUILTIN["syslog3164"](rule.timezone)  # raises ValueError on an unknown zone
        self.rules = tuple(rules)
        self._parsers: dict[tuple[str, str], Parser] = {}
        self._default_parsers: dict[str, Parser] = {}  # the same, for timezone None
        self._rule_cache: dict[str, SourceRule | None] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def get(self, name: str, timezone: str | None = None) -> Parser | None:
        """The parser ``name`` for ``timezone`` (cached), or None if unknown."""
        if timezone is None:  # the common case: one lookup by name
            parser = self._default_parsers.get(name)
            if parser is not None:
                return parser
        zone = timezone or self.default_timezone
        parser = self._parsers.get((name, zone))
        if parser is None:
            factory = self._factories.get(name)
            if factory is None:
                return None
            parser = self._parsers[(name, zone)] = factory(zone)
        if timezone is None:
            self._default_parsers[name] = parser
        return parser

    def rule_for(self, source: str | None) -> SourceRule | None:
        if source is None or not self.rules:
            return None
        if source in self._rule_cache:
            return self._rule_cache[source]
        rule = next((r for r in self.rules if fnmatchcase(source, r.match)), None)
        if len(self._rule_cache) > 10_000:
            self._rule_cache.clear()
        self._rule_cache[source] = rule
        return rule


def _pattern_factory(pattern: PatternDef) -> ParserFactory:
    def build(timezone: str) -> Parser:
        zone: Any = timezone if timezone != "UTC" else pattern.timezone
        return PatternParser(pattern.name, pattern.regex, pattern.timestamp_format, zone,
                             dict(pattern.field_map) or None)
    return build
