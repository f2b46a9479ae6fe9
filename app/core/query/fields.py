"""Field names users type, and the event-document paths and kinds behind them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    KEYWORD = "keyword"  # exact, case-insensitive; wildcards
    TEXT = "text"        # analysed words (message)
    NUMBER = "number"
    STATUS = "status"    # an HTTP status: a number, or a class such as 5xx
    LEVEL = "level"      # a level name over severity_number
    IP = "ip"            # an address or a CIDR network
    DATE = "date"
    BOOL = "bool"
    ANY = "any"          # dynamic attributes: keyword or number, decided by the data


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # as typed (normalised)
    path: str  # dotted path in the event document / Elasticsearch
    kind: Kind


_K, _N = Kind.KEYWORD, Kind.NUMBER
_FIELDS: dict[str, tuple[str, Kind]] = {
    "service": ("service", _K), "host": ("host", _K), "env": ("env", _K),
    "logger": ("logger", _K), "trace_id": ("trace_id", _K), "span_id": ("span_id", _K),
    "template_id": ("template_id", _K), "event_id": ("event_id", _K),
    "severity_text": ("severity_text", _K), "severity_number": ("severity_number", _N),
    "message": ("message", Kind.TEXT), "msg": ("message", Kind.TEXT),
    "level": ("severity_number", Kind.LEVEL), "severity": ("severity_number", Kind.LEVEL),
    "is_error": ("is_error", Kind.BOOL),
    "ts": ("ts", Kind.DATE), "@timestamp": ("ts", Kind.DATE), "timestamp": ("ts", Kind.DATE),
    "observed_ts": ("observed_ts", Kind.DATE),
    "status": ("http.status", Kind.STATUS), "http.status": ("http.status", Kind.STATUS),
    "status_class": ("http.status_class", _K), "http.status_class": ("http.status_class", _K),
    "method": ("http.method", _K), "http.method": ("http.method", _K),
    "route": ("http.route", _K), "http.route": ("http.route", _K),
    "path": ("http.path", _K), "http.path": ("http.path", _K),
    "protocol": ("http.protocol", _K), "http.protocol": ("http.protocol", _K),
    "referrer": ("http.referrer", _K), "http.referrer": ("http.referrer", _K),
    "user_agent": ("http.user_agent", _K), "http.user_agent": ("http.user_agent", _K),
    "ua.family": ("http.ua.family", _K), "http.ua.family": ("http.ua.family", _K),
    "ua.os": ("http.ua.os", _K), "http.ua.os": ("http.ua.os", _K),
    "ua.device": ("http.ua.device", _K), "http.ua.device": ("http.ua.device", _K),
    "client_ip": ("http.client_ip", Kind.IP), "ip": ("http.client_ip", Kind.IP),
    "http.client_ip": ("http.client_ip", Kind.IP),
    "duration": ("http.duration_ms", _N), "latency": ("http.duration_ms", _N),
    "duration_ms": ("http.duration_ms", _N), "http.duration_ms": ("http.duration_ms", _N),
    "bytes": ("http.bytes", _N), "http.bytes": ("http.bytes", _N),
    "country": ("geo.country", _K), "geo.country": ("geo.country", _K),
    "city": ("geo.city", _K), "geo.city": ("geo.city", _K),
    "source.type": ("source.type", _K), "source.name": ("source.name", _K),
    "parser": ("parse.parser", _K), "parse.parser": ("parse.parser", _K),
    "parse.ok": ("parse.ok", Kind.BOOL),
    "team": ("service_meta.team", _K), "owner": ("service_meta.owner", _K),
    "tier": ("service_meta.tier", _K),
    "service_meta.team": ("service_meta.team", _K),
    "service_meta.owner": ("service_meta.owner", _K),
    "service_meta.tier": ("service_meta.tier", _K),
    "service_meta.env": ("service_meta.env", _K),
}
#: prefixes whose sub-fields are dynamic (any name after the dot)
DYNAMIC_PREFIXES = ("attrs.",)

#: the names listed in error messages and the search page's help
KNOWN_NAMES = ("service", "level", "message", "status", "method", "route", "path",
               "client_ip", "duration", "host", "env", "logger", "trace_id", "ts",
               "is_error", "country", "attrs.<name>")


def resolve(name: str) -> Field | None:
    """The field a user's name stands for, or None if unknown."""
    key = name.lower() if not name.startswith(DYNAMIC_PREFIXES) else name
    found = _FIELDS.get(key)
    if found is not None:
        return Field(key, found[0], found[1])
    for prefix in DYNAMIC_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) and ".." not in name \
                and not name.endswith("."):
            return Field(name, name, Kind.ANY)
    return None


#: OpenTelemetry severity bands: name -> (lowest, highest) severity_number
LEVELS: dict[str, tuple[int, int]] = {
    "unspecified": (0, 0), "trace": (1, 4), "debug": (5, 8), "info": (9, 12),
    "warn": (13, 16), "warning": (13, 16), "error": (17, 20), "err": (17, 20),
    "fatal": (21, 24), "critical": (21, 24), "crit": (21, 24),
}
LEVEL_NAMES = ("trace", "debug", "info", "warn", "error", "fatal")
