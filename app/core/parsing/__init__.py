"""Parsers, one module per format, registered by name; plus auto-detection."""

from __future__ import annotations

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import Parser, RecordContext
from app.core.parsing.http_access import HttpAccessParser
from app.core.parsing.json_lines import JsonLinesParser
from app.core.parsing.plain import PlainTextParser

__all__ = ["FormatDetector", "Parser", "RecordContext", "builtin_parsers"]


def builtin_parsers() -> dict[str, Parser]:
    """Fresh instances of the built-in parsers (parsers may keep small caches)."""
    parsers: list[Parser] = [JsonLinesParser(), HttpAccessParser(), PlainTextParser()]
    return {p.name: p for p in parsers}


class FormatDetector:
    """Chooses the parser of a record: a declared format always wins.

    Without a declaration: ``{`` starts JSON (and a broken object is a dead letter,
    not a plain event); an access-log line is parsed as such; anything else becomes
    a plain, unparsed event.
    """

    def __init__(self, parsers: dict[str, Parser] | None = None) -> None:
        self.parsers = parsers if parsers is not None else builtin_parsers()
        self._json = self.parsers["json"]
        self._access = self.parsers["http_access"]
        self._plain = self.parsers["plain"]

    def parse(self, text: str, ctx: RecordContext, declared: str | None = None) -> LogEvent:
        if declared:
            parser = self.parsers.get(declared)
            if parser is None:
                known = ", ".join(sorted(self.parsers))
                raise ParseError(Reason.UNKNOWN_FORMAT,
                                 f"format {declared!r} is not registered (known: {known})",
                                 parser=declared)
            return parser.parse(text, ctx)
        if text.startswith("{"):
            return self._json.parse(text, ctx)
        if isinstance(self._access, HttpAccessParser) and self._access.matches(text):
            return self._access.parse(text, ctx)
        return self._plain.parse(text, ctx)
