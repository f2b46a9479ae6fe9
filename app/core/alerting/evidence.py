"""Evidence an alert carries: top routes, status codes and client IPs, sample lines.

From events, small bounded counters and the last few lines; from a closed window, its
own top lists. Kept in the alert's state while it is active, reset on a new activation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.events import iso_utc

SAMPLES = 5
TOP = 5
_KEEP = 30


def empty() -> dict[str, Any]:
    return {"routes": {}, "statuses": {}, "ips": {}, "samples": []}


def _bump(counter: dict[str, int], key: Any, by: int = 1) -> None:
    if key is None or key == "":
        return
    name = str(key)
    counter[name] = counter.get(name, 0) + by
    if len(counter) > 2 * _KEEP:
        for victim, _ in sorted(counter.items(), key=lambda kv: (kv[1], kv[0]))[:-_KEEP]:
            del counter[victim]


def add_event(evidence: dict[str, Any], item: Mapping[str, Any]) -> None:
    _bump(evidence["routes"], item.get("route"))
    _bump(evidence["statuses"], item.get("status"))
    _bump(evidence["ips"], item.get("ip"))
    line = f"{iso_utc(float(item['ts']))} {item.get('svc', '')} " \
           f"{item.get('sev', '') or '-'} {item.get('msg', '')}"
    samples: list[str] = evidence["samples"]
    samples.append(line[:500])
    del samples[:-SAMPLES]


def from_window(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A closed window's own evidence (its top lists and error messages)."""
    return {
        "routes": {str(r): int(n) for r, n in doc.get("top_routes") or []},
        "statuses": {str(s): int(n) for s, n in (doc.get("status") or {}).items()},
        "ips": {str(ip): int(n) for ip, n in doc.get("top_clients") or []},
        "samples": [f"{int(n)} x {msg}" for msg, n in (doc.get("top_errors") or [])][:SAMPLES],
    }


def top(counter: Mapping[str, int], n: int = TOP) -> list[list[Any]]:
    return [[k, v] for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def summary(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence as it goes into a notification."""
    return {"top_routes": top(evidence.get("routes") or {}),
            "top_statuses": top(evidence.get("statuses") or {}),
            "top_ips": top(evidence.get("ips") or {}),
            "samples": list(evidence.get("samples") or [])[-SAMPLES:]}
