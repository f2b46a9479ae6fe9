"""Parser ``cef``: ArcSight Common Event Format, alone or behind a syslog header.

``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value ...``

Header fields escape ``|`` and ``\\`` with a backslash; extension values escape ``=``
and ``\\`` and may contain spaces (a value runs until the next `` key=``). Well-known
keys map onto the canonical event so rules and agents need not know CEF: ``src`` →
``attrs.source_ip``, ``suser`` → ``attrs.user``, ``outcome`` → ``attrs.auth_result``
(``failure``/``success``), ``rt`` → the event time; every extension key is also kept
under ``attrs.cef``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext

_START = re.compile(r"CEF:(\d+)\|")
_HEADER_SPLIT = re.compile(r"(?<!\\)\|")
_EXT_KEY = re.compile(r"(?:^|\s)([A-Za-z0-9_.\[\]-]+)=")
_SEVERITY_WORDS = {"low": 3, "medium": 5, "high": 8, "very-high": 10, "veryhigh": 10}
_FIELD_MAP = {"src": "source_ip", "spt": "source_port", "dst": "destination_ip",
              "dpt": "destination_port", "suser": "user", "duser": "target_user",
              "act": "action", "app": "app_protocol", "shost": "source_host",
              "dhost": "destination_host", "request": "url"}
_OUTCOME = {"failure": "failure", "failed": "failure", "fail": "failure",
            "success": "success", "succeeded": "success"}
_RT_FORMATS = ("%b %d %Y %H:%M:%S", "%b %d %Y %H:%M:%S.%f")


def _unescape_header(text: str) -> str:
    return text.replace("\\|", "|").replace("\\\\", "\\")


def _unescape_value(text: str) -> str:
    return (text.replace("\\=", "=").replace("\\n", "\n").replace("\\r", "\r")
            .replace("\\\\", "\\"))


def parse_extension(text: str) -> dict[str, str]:
    """``key=value`` pairs; a value runs until the next unescaped `` key=``."""
    matches = list(_EXT_KEY.finditer(text))
    out: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out[match.group(1)] = _unescape_value(text[match.end():end].strip())
    return out


def severity_number(value: str) -> int:
    """CEF severity (0-10 or Low/Medium/High/Very-High) to an OpenTelemetry number."""
    level = _SEVERITY_WORDS.get(value.strip().lower())
    if level is None:
        try:
            level = int(value)
        except ValueError:
            raise ParseError(Reason.BAD_FIELD, f"CEF severity {value!r} is not 0-10 or a "
                             "level name", parser="cef") from None
    if not 0 <= level <= 10:
        raise ParseError(Reason.BAD_FIELD, f"CEF severity {level} is outside 0-10",
                         parser="cef")
    return 9 if level <= 3 else 13 if level <= 6 else 17 if level <= 8 else 21


def _event_time(ext: dict[str, str]) -> float | None:
    raw = ext.get("rt") or ext.get("end") or ext.get("start")
    if not raw:
        return None
    if raw.isdigit():
        return int(raw) / 1000.0  # CEF times are epoch milliseconds
    for fmt in _RT_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ParseError(Reason.BAD_FIELD, f"CEF time {raw!r} is neither epoch ms nor "
                     "'MMM dd yyyy HH:mm:ss'", parser="cef")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


class CefParser:
    """The ``cef`` format. Zone-independent (CEF times are UTC or epoch)."""

    name = "cef"

    def __init__(self, _timezone: str = "UTC") -> None:
        pass  # the entry point is called with the source's time zone; CEF does not need it

    def matches(self, text: str) -> bool:
        return "CEF:" in text[:256] and _START.search(text[:256]) is not None

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        start = _START.search(text)
        if start is None:
            raise ParseError(Reason.FORMAT_MISMATCH, "no 'CEF:<version>|' header",
                             parser=self.name)
        prefix = text[:start.start()].strip()
        parts = _HEADER_SPLIT.split(text[start.end():], maxsplit=6)
        if len(parts) != 7:
            raise ParseError(Reason.FORMAT_MISMATCH, f"CEF header has {len(parts) + 1} of "
                             "8 fields", parser=self.name)
        vendor, product, version, signature, name, severity = map(_unescape_header, parts[:6])
        ext = parse_extension(parts[6])
        number = severity_number(severity)
        ts = _event_time(ext)
        attrs: dict[str, Any] = {
            "cef": {"version": int(start.group(1)), "vendor": vendor, "product": product,
                    "product_version": version, "signature_id": signature, **ext}}
        for key, canonical in _FIELD_MAP.items():
            if key in ext:
                value: Any = ext[key]
                attrs[canonical] = int(value) if canonical.endswith("_port") and \
                    value.isdigit() else value
        outcome = _OUTCOME.get(ext.get("outcome", "").lower())
        if outcome is not None:
            attrs["auth_result"] = outcome
        host = ext.get("dvchost") or (prefix.split()[-1] if prefix else None)
        return LogEvent(
            event_id=ctx.event_id,
            ts=ts if ts is not None else ctx.observed_ts,
            observed_ts=ctx.observed_ts,
            service=ctx.service or _slug(product),
            message=name + (f": {ext['msg']}" if ext.get("msg") else ""),
            severity_number=number,
            severity_text=severity,
            host=host,
            source_name=ctx.source_name,
            is_error=number >= 17,
            attrs=attrs,
            parser=self.name,
        )
