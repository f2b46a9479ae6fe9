"""Parsers, one module per format, registered by name (``catalog``); plus auto-detection."""

from __future__ import annotations

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import Parser, RecordContext
from app.core.parsing.catalog import DETECTION_ORDER, ParserCatalog

__all__ = ["FormatDetector", "Parser", "ParserCatalog", "RecordContext", "builtin_parsers"]


def builtin_parsers() -> dict[str, Parser]:
    """One instance of every built-in parser (UTC), by name."""
    catalog = ParserCatalog()
    return {name: parser for name in catalog.names if (parser := catalog.get(name)) is not None}


class FormatDetector:
    """Chooses the parser of a record: a declared format always wins.

    Order of precedence: the producer's ``format`` header, then the source rule's
    format; without either, ``{`` starts JSON (a broken object is a dead letter, never a
    plain event), then each format of ``DETECTION_ORDER`` is asked whether the line is
    its own; a line no format claims becomes a plain, unparsed event.
    """

    def __init__(self, catalog: ParserCatalog | None = None) -> None:
        self.catalog = catalog if catalog is not None else ParserCatalog()

    @property
    def formats(self) -> list[str]:
        return self.catalog.names

    def parse(self, text: str, ctx: RecordContext, declared: str | None = None) -> LogEvent:
        catalog = self.catalog
        rule = catalog.rule_for(ctx.source_name) if catalog.rules else None
        zone = None
        if rule is not None:
            zone = rule.timezone
            if rule.service and ctx.service is None:
                ctx = ctx._replace(service=rule.service)
            declared = declared or rule.format
        if declared:
            # catalog.get()'s common case inlined: a declared format, no time zone rule
            parser = catalog._default_parsers.get(declared) if zone is None else None
            if parser is None:
                parser = catalog.get(declared, zone)
            if parser is None:
                raise ParseError(Reason.UNKNOWN_FORMAT,
                                 f"format {declared!r} is not registered (known: "
                                 f"{', '.join(catalog.names)})", parser=declared)
            return parser.parse(text, ctx)
        if text.startswith("{"):
            return catalog.get("json", zone).parse(text, ctx)  # type: ignore[union-attr]
        for name in DETECTION_ORDER:
            candidate = catalog.get(name, zone)
            if candidate is not None and _claims(candidate, text):
                return candidate.parse(text, ctx)
        return catalog.get("plain", zone).parse(text, ctx)  # type: ignore[union-attr]


def _claims(parser: Parser, text: str) -> bool:
    matches = getattr(parser, "matches", None)
    return bool(matches(text)) if matches is not None else False
