"""Syslog of either RFC: ``<PRI>`` followed by a version number is RFC 5424, the rest 3164.

This is the parser the listener's ``format: syslog`` header and auto-detection use.
Events keep the name of the grammar that parsed them (``syslog5424`` / ``syslog3164``)
in ``LogEvent.parser``; errors are reported as ``syslog``.
"""

from __future__ import annotations

from datetime import tzinfo

from app.core.errors import ParseError
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.parsing.syslog3164 import Syslog3164Parser
from app.core.parsing.syslog5424 import Syslog5424Parser

_FIRST = frozenset("<0123456789JFMASOND")  # PRI, ISO year or month initial


class SyslogParser:
    """Auto-detects RFC 5424 vs RFC 3164; ``tz`` applies to 3164 timestamps."""

    name = "syslog"

    def __init__(self, tz: str | tzinfo = "UTC") -> None:
        self.rfc5424 = Syslog5424Parser()
        self.rfc3164 = Syslog3164Parser(tz)

    def matches(self, text: str) -> bool:
        """Cheap check used by auto-detection (it runs on every line nothing else claimed)."""
        if not text or text[0] not in _FIRST:
            return False
        return self.rfc5424.matches(text) or self.rfc3164.matches(text)

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        parser = self.rfc5424 if _is_5424(text) else self.rfc3164
        try:
            return parser.parse(text, ctx)
        except ParseError as exc:
            raise ParseError(exc.reason, f"{parser.name}: {exc.detail}",
                             parser=self.name) from None


def _is_5424(text: str) -> bool:
    """``<digits>`` then a digit right after ``>`` (3164 has a month or a year-dash there)."""
    if not text.startswith("<"):
        return False
    close = text.find(">", 1, 8)
    if close < 0:
        return False
    after = text[close + 1:close + 5]
    # "<13>1 ..." is 5424; "<13>2026-11-22T..." is 3164 with an ISO timestamp
    return after[:1].isdigit() and " " in after and "-" not in after.partition(" ")[0]
