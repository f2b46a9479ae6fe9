"""Severity text to OpenTelemetry severity numbers (1-24)."""

from __future__ import annotations

import re

TRACE, DEBUG, INFO, WARN, ERROR, FATAL = 1, 5, 9, 13, 17, 21

_BY_TEXT: dict[str, int] = {
    "trace": TRACE,
    "debug": DEBUG,
    "dbg": DEBUG,
    "info": INFO,
    "information": INFO,
    "informational": INFO,
    "notice": INFO + 1,
    "warn": WARN,
    "warning": WARN,
    "error": ERROR,
    "err": ERROR,
    "severe": ERROR,
    "crit": FATAL,
    "critical": FATAL,
    "alert": FATAL + 2,  # FORMATS.md §7: alert FATAL3 (23), emerg FATAL4 (24)
    "emerg": FATAL + 3,
    "emergency": FATAL + 3,
    "fatal": FATAL,
    "panic": FATAL + 3,
}


#: the usual spellings (info, INFO, Info) straight to their number
_SPELLED: dict[str, int] = {spelling: number for name, number in _BY_TEXT.items()
                            for spelling in (name, name.upper(), name.capitalize())}


def severity_number(text: str | None) -> int:
    """Map a level name (any case) to its OTel number; 0 means unspecified."""
    if not text:
        return 0
    number = _SPELLED.get(text) if type(text) is str else None
    if number is not None:
        return number
    return _BY_TEXT.get(text.strip().lower(), 0)


def severity_from_http_status(status: int) -> int:
    """Severity of an access-log line that carries no level: 5xx error, 4xx warn."""
    if status >= 500:
        return ERROR
    if status >= 400:
        return WARN
    return INFO


def severity_text(number: int) -> str:
    """Canonical short name of an OTel severity number."""
    if number <= 0:
        return "UNSPECIFIED"
    for floor, name in ((FATAL, "FATAL"), (ERROR, "ERROR"), (WARN, "WARN"), (INFO, "INFO"),
                        (DEBUG, "DEBUG")):
        if number >= floor:
            return name
    return "TRACE"


_KEYWORDS = re.compile(
    r"\b(FATAL|PANIC|CRITICAL|CRIT|EMERG|ERROR|ERR|EXCEPTION|TRACEBACK|WARN|WARNING|DEBUG)\b",
    re.IGNORECASE,
)
_BY_KEYWORD = {"fatal": FATAL, "panic": FATAL, "critical": FATAL, "crit": FATAL,
               "emerg": FATAL, "error": ERROR, "err": ERROR, "exception": ERROR,
               "traceback": ERROR, "warn": WARN, "warning": WARN, "debug": DEBUG}


def guess_from_keywords(message: str, window: int = 512) -> int:
    """Severity suggested by a level word in the first ``window`` characters; 0 if none."""
    found = _KEYWORDS.search(message[:window])
    return _BY_KEYWORD[found.group(1).lower()] if found else 0
