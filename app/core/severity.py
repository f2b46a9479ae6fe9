"""Severity text to OpenTelemetry severity numbers (1-24)."""

from __future__ import annotations

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
    "alert": FATAL + 1,
    "emerg": FATAL + 2,
    "emergency": FATAL + 2,
    "fatal": FATAL,
    "panic": FATAL + 2,
}


def severity_number(text: str | None) -> int:
    """Map a level name (any case) to its OTel number; 0 means unspecified."""
    if not text:
        return 0
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
