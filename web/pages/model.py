"""The overview's numbers, from closed windows (``WindowStats.final`` documents).

Pure: windows in, one JSON-ready dict out. Windows are bucketed by their start into
buckets of ``bucket_s`` (a multiple of the window size); top routes and clients are
merged counts of each window's top 10 (approximate, like the windows themselves).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

LEVEL_ORDER = ("fatal", "error", "warn", "info", "debug", "trace", "unspecified")


def bucket_starts(since: float, until: float, bucket_s: int) -> list[int]:
    first = int(since - since % bucket_s)
    return list(range(first, int(until), bucket_s))


def overview_from_windows(windows: list[dict[str, Any]], since: float, until: float,
                          bucket_s: int) -> dict[str, Any]:
    starts = bucket_starts(since, until, bucket_s)
    index = {start: i for i, start in enumerate(starts)}
    events = [0] * len(starts)
    errors = [0] * len(starts)
    requests = [0] * len(starts)
    levels: Counter[str] = Counter()
    services: Counter[str] = Counter()
    service_errors: Counter[str] = Counter()
    status: Counter[str] = Counter()
    routes: Counter[str] = Counter()
    clients: Counter[str] = Counter()
    total = total_errors = total_requests = 0
    for window in windows:
        start = float(window.get("start", 0))
        if not since <= start < until:
            continue
        slot = index.get(int(start - start % bucket_s))
        n, e = int(window.get("events", 0)), int(window.get("errors", 0))
        http = sum(int(v) for v in (window.get("status") or {}).values())
        if slot is not None:
            events[slot] += n
            errors[slot] += e
            requests[slot] += http
        total, total_errors, total_requests = total + n, total_errors + e, total_requests + http
        service = str(window.get("service", "unknown"))
        services[service] += n
        service_errors[service] += e
        levels.update({str(k): int(v) for k, v in (window.get("severity") or {}).items()})
        status.update({str(k): int(v) for k, v in (window.get("status") or {}).items()})
        routes.update({str(k): int(v) for k, v in window.get("top_routes") or []})
        clients.update({str(k): int(v) for k, v in window.get("top_clients") or []})
    minutes = bucket_s / 60.0
    return {
        "bucket_s": bucket_s,
        "kpis": {"events": total, "errors": total_errors,
                 "error_rate": total_errors / total if total else 0.0,
                 "requests": total_requests},
        "timeline": {"t": [s * 1000 for s in starts], "events": events, "errors": errors},
        "requests_per_minute": [round(r / minutes, 2) for r in requests],
        "levels": {name: levels[name] for name in LEVEL_ORDER if levels.get(name)},
        "services": [[name, n, service_errors[name]] for name, n in services.most_common()],
        "status": dict(sorted(status.items())),
        "top_routes": [[name, n] for name, n in _top(routes)],
        "top_clients": [[name, n] for name, n in _top(clients)],
    }


def _top(counts: Counter[str], n: int = 10) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
