"""``service``: name the service when the parser could not.

Runs only when ``service`` is ``"unknown"``, empty, or merely the source name (the Kafka
key, usually a host). First that gives a non-empty name wins:

1. a field of the event: ``attrs`` keys ``service``, ``app``, ``application``,
   ``kubernetes.labels.app`` (dotted key or nested mappings);
2. the per-source mapping ``{source_name: service}``;
3. host patterns ``[(regex, template)]`` tried on ``host``, then ``source_name``:
   ``^(?P<svc>[a-z-]+)-\\d+$`` with ``{svc}`` names ``api-3`` as ``api``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from string import Formatter
from typing import Any

from app.core.enrichment.options import Options
from app.core.events import LogEvent

UNKNOWN = "unknown"
DEFAULT_FIELDS = ("service", "app", "application", "kubernetes.labels.app")
MAX_SERVICE_LENGTH = 128


class HostPattern:
    """A compiled host regex and the template its named groups fill."""

    __slots__ = ("regex", "template")

    def __init__(self, regex: str, template: str, *, index: int = 0) -> None:
        try:
            self.regex = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"host pattern #{index}: invalid regex {regex!r}: {exc}") from None
        try:
            fields = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise ValueError(f"host pattern #{index}: invalid template {template!r}: "
                             f"{exc}") from None
        unknown = [name for name in fields if name not in self.regex.groupindex]
        if unknown:
            raise ValueError(f"host pattern #{index}: template {template!r} uses "
                             f"{', '.join(map(repr, unknown))}, not a named group of "
                             f"{regex!r}")
        self.template = template

    def apply(self, host: str) -> str | None:
        match = self.regex.search(host)
        if match is None:
            return None
        groups = {k: v or "" for k, v in match.groupdict().items()}
        return self.template.format_map(groups).strip() or None


def _lookup(attrs: Mapping[str, Any], dotted: str) -> Any:
    if dotted in attrs:
        return attrs[dotted]
    node: Any = attrs
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _usable(value: Any) -> str | None:
    if isinstance(value, str):
        text = value.strip()
        if text and text != UNKNOWN and len(text) <= MAX_SERVICE_LENGTH:
            return text
    return None


class ServiceEnricher:
    name = "service"
    # enrich()'s returns without a change, negated (see base.py): the parser named the
    # service; or a service is set and resolve() has nothing to look at (no attrs, no
    # sources, no host patterns: an access line keyed by its host)
    runs_if = ("not (event.service and event.service != 'unknown' "
               "and event.service != event.source_name) "
               "and (event.attrs or self.sources or self.host_patterns or not event.service)")

    def __init__(self, *, fields: Sequence[str] = DEFAULT_FIELDS,
                 sources: Mapping[str, str] | None = None,
                 host_patterns: Sequence[tuple[str, str]] = ()) -> None:
        self.fields = tuple(fields)
        self.sources = dict(sources or {})
        self.host_patterns = tuple(HostPattern(regex, template, index=i)
                                   for i, (regex, template) in enumerate(host_patterns))

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> ServiceEnricher:
        opts = Options(cls.name, options)
        fields = opts.get("fields", list, list(DEFAULT_FIELDS))
        sources = opts.get("sources", dict, {})
        patterns = opts.get("host_patterns", list, [])
        opts.done()
        if not all(isinstance(f, str) for f in fields):
            raise ValueError("enricher 'service': fields must be strings")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
            raise ValueError("enricher 'service': sources must map source names to services")
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(patterns):
            pair = _pattern_pair(item)
            if pair is None:
                raise ValueError(f"enricher 'service': host_patterns[{i}] must be a "
                                 f"[regex, template] pair or {{regex:, template:}}")
            pairs.append(pair)
        return cls(fields=fields, sources=sources, host_patterns=pairs)

    def resolve(self, event: LogEvent) -> str | None:
        attrs = event.attrs
        if attrs:
            for field in self.fields:
                found = _usable(_lookup(attrs, field))
                if found:
                    return found
        if not self.sources and not self.host_patterns:
            return None
        source = event.source_name
        if isinstance(source, str) and source in self.sources:
            found = _usable(self.sources[source])
            if found:
                return found
        for host in (event.host, source):
            if isinstance(host, str) and host:
                for pattern in self.host_patterns:
                    found = _usable(pattern.apply(host))
                    if found:
                        return found
        return None

    def enrich(self, event: LogEvent) -> None:
        service = event.service
        if service and service != UNKNOWN and service != event.source_name:
            return
        # resolve() has nothing to look at without attrs, sources or host patterns
        found = (self.resolve(event) if event.attrs or self.sources or self.host_patterns
                 else None)
        if found:
            event.service = found
        elif not service:
            event.service = UNKNOWN


def _pattern_pair(item: Any) -> tuple[str, str] | None:
    if isinstance(item, Mapping):
        item = (item.get("regex"), item.get("template"))
    if (isinstance(item, list | tuple) and len(item) == 2
            and all(isinstance(part, str) for part in item)):
        return item[0], item[1]
    return None
