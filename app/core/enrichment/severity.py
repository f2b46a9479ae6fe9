"""``severity``: OpenTelemetry severity numbers (FORMATS.md §7) and the ``is_error`` flag.

Where the number comes from, first that applies:
1. the number the source gave (1-24), unless the parser derived it from an HTTP status;
2. the source's level text (``severity_text``: ``warning``, ``err``, ``CRITICAL``...);
3. the HTTP status: 5xx ERROR, 4xx WARN, 404 INFO unless ``http_404_is_warn``
   (a 404 is routine traffic: scanners, stale links);
4. keywords in the message (the plain parser's guesser: ``ERROR``, ``Traceback``...);
5. ``default_number`` (INFO).

The original ``severity_text`` is kept; it is filled with the canonical name only when
the source gave none. ``is_error`` is ``severity >= ERROR or http.status >= 500``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.enrichment.options import Options
from app.core.events import LogEvent

# The plain parser's keyword guesser is reused, not copied. It is private there; if it
# moves (e.g. to app.core.severity as a public ``guess_from_keywords``), change this line.
from app.core.severity import ERROR, INFO, guess_from_keywords, severity_from_http_status
from app.core.severity import severity_number as number_from_text
from app.core.severity import severity_text as canonical_text

KEYWORD_WINDOW = 512  # the plain parser looks at the same prefix of the message


def severity_from_keywords(message: str) -> int:
    """OTel number guessed from a level keyword in the message; 0 when there is none."""
    return guess_from_keywords(message, KEYWORD_WINDOW)


_CANONICAL = tuple(canonical_text(n) if n else "" for n in range(25))


class SeverityEnricher:
    name = "severity"

    def __init__(self, *, http_404_is_warn: bool = False,
                 http_status_parsers: tuple[str, ...] = ("http_access",),
                 default_number: int = INFO) -> None:
        if not 0 <= default_number <= 24:
            raise ValueError(f"default_number must be 0-24, got {default_number}")
        self.http_404_is_warn = http_404_is_warn
        # parsers whose number is only derived from the status (no level in the line):
        # their number is recomputed with this enricher's HTTP policy
        self.http_status_parsers = frozenset(http_status_parsers)
        self.default_number = default_number
        self._by_status = {status: self.from_status(status) for status in range(100, 600)}
        #: status -> (number, canonical name, is_error): enrich()'s whole effect on an
        #: event of an http_status_parsers parser with that status
        self._status_fields = {
            status: (number, _CANONICAL[number], number >= ERROR or status >= 500)
            for status, number in self._by_status.items() if number}

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> SeverityEnricher:
        opts = Options(cls.name, options)
        parsers = opts.get("http_status_parsers", list, ["http_access"])
        if not all(isinstance(p, str) for p in parsers):
            raise ValueError("enricher 'severity': http_status_parsers must be strings")
        enricher = cls(http_404_is_warn=opts.get("http_404_is_warn", bool, False),
                       http_status_parsers=tuple(parsers),
                       default_number=opts.get("default_number", int, INFO))
        opts.done()
        return enricher

    def from_status(self, status: int) -> int:
        if status == 404 and not self.http_404_is_warn:
            return INFO
        return severity_from_http_status(status)

    def number(self, event: LogEvent, status: int | None) -> int:
        """The OTel number of ``event`` (see the module docstring for the order)."""
        if status is not None and event.parser in self.http_status_parsers:
            return self.from_status(status)
        number = event.severity_number
        if type(number) is int and 0 < number <= 24:
            return number
        number = number_from_text(event.severity_text)
        if not number and status is not None:
            number = self.from_status(status)
        if not number:
            message = event.message
            number = severity_from_keywords(message) if isinstance(message, str) else 0
        return number or self.default_number

    def enrich(self, event: LogEvent) -> None:
        http = event.http
        status = http.status if http is not None else None
        if type(status) is not int:
            status = None
        if status is not None and event.parser in self.http_status_parsers:
            known = self._status_fields.get(status)
            if known is not None:  # the access-log fast path, in one lookup
                event.severity_number, event.severity_text, event.is_error = known
                return
            # any other status: no level in the line, the status decides; a derived
            # number gets the canonical name
            number = self._by_status.get(status) or self.from_status(status)
            event.severity_number = number
            event.severity_text = _CANONICAL[number]
        else:
            number = event.severity_number
            if type(number) is not int or not 0 < number <= 24:
                number = event.severity_number = self.number(event, status)
            if not event.severity_text:  # a source's own text is kept
                event.severity_text = _CANONICAL[number]
        event.is_error = number >= ERROR or (status is not None and status >= 500)
