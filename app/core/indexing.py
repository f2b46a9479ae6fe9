"""Search-index layout and bulk-response handling (no client, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

import orjson

from app.core.eventbatch import RawEvent

Doc = TypeVar("Doc")

#: Item statuses worth retrying: the cluster is busy or briefly unavailable.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def daily_index(prefix: str, doc: dict[str, Any]) -> str:
    """``<prefix>-YYYY.MM.DD`` from the event time (``ts`` is ISO 8601 UTC)."""
    return day_index(prefix, str(doc["ts"]))


def day_index(prefix: str, ts: str) -> str:
    """``<prefix>-YYYY.MM.DD`` of the event time ``ts`` (ISO 8601 UTC)."""
    return f"{prefix}-{ts[0:4]}.{ts[5:7]}.{ts[8:10]}"


def expired_indices(prefix: str, names: list[str], *, today: str, keep_days: int) -> list[str]:
    """Daily indices of ``prefix`` older than ``keep_days`` before ``today`` (YYYY-MM-DD).

    Names that do not end in a ``YYYY.MM.DD`` date of this prefix are never returned.
    """
    cutoff = _day_number(today.replace("-", ".")) - keep_days
    out = []
    for name in names:
        day = name.removeprefix(f"{prefix}-")
        if day == name or len(day) != 10:
            continue
        try:
            number = _day_number(day)
        except ValueError:
            continue
        if number < cutoff:
            out.append(name)
    return sorted(out)


def _day_number(day: str) -> int:
    year, month, dom = (int(part) for part in day.split("."))
    return date(year, month, dom).toordinal()


def bulk_operations(docs: Sequence[dict[str, Any]], prefix: str) -> bytes:
    """``_bulk`` NDJSON body: ``index`` actions with ``_id`` = ``event_id`` (replays overwrite).

    Encoded here with orjson, so the client sends the bytes as they are (its own NDJSON
    serializer would encode every line with the stdlib ``json``, several times slower).
    """
    dumps = orjson.dumps
    return raw_bulk_operations([(doc["event_id"], str(doc["ts"]), dumps(doc)) for doc in docs],
                               prefix)


def raw_bulk_operations(events: Sequence[RawEvent], prefix: str) -> bytes:
    """``bulk_operations`` for events kept as their own JSON bytes: the documents go
    into the body as they are, only the action lines are encoded (one per day and id)."""
    lines: list[Any] = []
    append, dumps = lines.append, orjson.dumps
    actions: dict[str, bytes] = {}  # day -> the action line up to the id
    for event_id, ts, body in events:
        day = ts[:10]
        head = actions.get(day)
        if head is None:
            index = dumps(day_index(prefix, day))
            head = actions[day] = b'{"index":{"_index":' + index + b',"_id":'
        append(head + dumps(event_id) + b"}}")
        append(body)
    lines.append(b"")
    return b"\n".join(lines)


#: What a ``_bulk`` response needs to carry for ``classify_bulk_items`` (``filter_path``).
BULK_RESPONSE_FILTER = "errors,items.*.status,items.*.error"


@dataclass(slots=True)
class BulkOutcome(Generic[Doc]):
    indexed: int = 0
    retry: list[Doc] = field(default_factory=list)
    rejected: list[tuple[Doc, str]] = field(default_factory=list)


def classify_bulk_items(docs: Sequence[Doc], items: list[dict[str, Any]]) -> BulkOutcome[Doc]:
    """Split a ``_bulk`` response into indexed, retryable and permanently rejected docs."""
    if len(items) != len(docs):
        raise ValueError(f"bulk response has {len(items)} items for {len(docs)} documents")
    outcome: BulkOutcome[Doc] = BulkOutcome()
    for doc, item in zip(docs, items, strict=True):
        result = next(iter(item.values()))
        status = int(result.get("status", 0))
        if 200 <= status < 300:
            outcome.indexed += 1
        elif status in RETRYABLE_STATUSES:
            outcome.retry.append(doc)
        else:
            error = result.get("error") or {}
            reason = (f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"
                      if isinstance(error, dict) else f"{status} {error}")
            outcome.rejected.append((doc, reason[:2000]))
    return outcome


def index_template(prefix: str, *, shards: int = 1, replicas: int = 0,
                   refresh_interval: str = "1s") -> dict[str, Any]:
    """Composable index template for the daily event indices behind alias ``prefix``."""
    keyword = {"type": "keyword", "ignore_above": 1024}
    return {
        "index_patterns": [f"{prefix}-*"],
        "priority": 200,
        "template": {
            "aliases": {prefix: {}},
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "refresh_interval": refresh_interval,
                "mapping.total_fields.limit": 2000,
            },
            "mappings": {
                "dynamic_templates": [
                    {"attrs_strings": {"path_match": "attrs.*",
                                       "match_mapping_type": "string",
                                       "mapping": keyword}},
                ],
                "properties": {
                    "event_id": {"type": "keyword"},
                    "pos": {"type": "long", "index": False, "doc_values": False},
                    "ts": {"type": "date"},
                    "observed_ts": {"type": "date"},
                    "service": {"type": "keyword"},
                    "env": {"type": "keyword"},
                    "host": {"type": "keyword"},
                    "severity_number": {"type": "short"},
                    "severity_text": {"type": "keyword"},
                    "message": {"type": "text"},
                    "is_error": {"type": "boolean"},
                    "logger": {"type": "keyword"},
                    "template_id": {"type": "keyword"},
                    "service_meta": {"properties": {"team": {"type": "keyword"},
                                                    "owner": {"type": "keyword"},
                                                    "tier": {"type": "keyword"},
                                                    "env": {"type": "keyword"}}},
                    "geo": {"properties": {"country": {"type": "keyword"},
                                           "city": {"type": "keyword"}}},
                    "trace_id": {"type": "keyword"},
                    "span_id": {"type": "keyword"},
                    "source": {"properties": {"type": {"type": "keyword"},
                                              "name": {"type": "keyword"}}},
                    "parse": {"properties": {"parser": {"type": "keyword"},
                                             "ok": {"type": "boolean"}}},
                    "http": {"properties": {
                        "method": {"type": "keyword"},
                        "path": keyword,
                        "route": {"type": "keyword"},
                        "protocol": {"type": "keyword"},
                        "status": {"type": "short"},
                        "status_class": {"type": "keyword"},
                        "bytes": {"type": "long"},
                        "duration_ms": {"type": "float"},
                        "client_ip": {"type": "ip", "ignore_malformed": True},
                        "referrer": keyword,
                        "user_agent": keyword,
                        "ua": {"properties": {"family": {"type": "keyword"},
                                              "os": {"type": "keyword"},
                                              "device": {"type": "keyword"}}},
                    }},
                    "attrs": {"type": "object", "dynamic": True},
                },
            },
        },
    }
