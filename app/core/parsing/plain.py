"""The fallback for text no parser recognises: a plain event, marked unparsed.

Auto-detection must never misparse silently; a line it cannot place keeps its text as
the message, takes the receive time, and gets a severity guessed from keywords.
"""

from __future__ import annotations

from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import INFO, guess_from_keywords, severity_text


class PlainTextParser:
    """Never fails on text: the last resort of auto-detection."""

    name = "plain"

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        number = guess_from_keywords(text) or INFO
        return LogEvent(
            event_id=ctx.event_id,
            ts=ctx.observed_ts,
            observed_ts=ctx.observed_ts,
            service=ctx.service or ctx.source_name or "unknown",
            message=text,
            severity_number=number,
            severity_text=severity_text(number),
            source_name=ctx.source_name,
            parser=self.name,
            parsed=False,
        )
