"""A notification on ``notifications.outbox``: the contract between alerting and delivery.

The alerting side builds it (one per Alertmanager-style group flush: firing, repeat or
resolved); the notify agent delivers it to every Apprise channel whose tags match
``routes``. ``key`` is the idempotency key: the same notice, produced again by a replay or
a restart, carries the same key, and a channel that already has it is not sent it again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

import orjson

NotificationKind = Literal["firing", "repeat", "resolved", "test"]
KINDS: frozenset[str] = frozenset(get_args(NotificationKind))


@dataclass(frozen=True, slots=True)
class Notification:
    key: str  # idempotency key (stable across replays), also the Kafka message key
    kind: NotificationKind
    routes: tuple[str, ...]  # Apprise tags; a channel receives it if it has any of them
    title: str  # rendered subject line
    body: str  # rendered text (Markdown), carrying the evidence
    group: str  # the alert group (rule + group_by labels) it bundles
    created_at: float  # event time (epoch seconds) of the transition that caused it
    severity: str = "warning"  # critical | warning | info: Apprise notify type
    # One entry per alert in the group: rule, fingerprint, state, labels, annotations,
    # value, threshold or baseline, window {start, end, size_s}, starts_at, ends_at,
    # duration_s, peak, evidence {top_routes, top_statuses, top_ips, samples}, dashboard_url.
    alerts: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Notification:
        """Decode and check one outbox message; ``ValueError`` names the bad field."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"notification is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("notification is not a JSON object")
        for name in ("key", "title", "body", "group"):
            if not isinstance(data.get(name), str) or (name == "key" and not data[name]):
                what = "a non-empty string" if name == "key" else "a string"
                raise ValueError(f"notification field {name!r} must be {what}")
        if data.get("kind") not in KINDS:
            raise ValueError(f"notification field 'kind' must be one of {sorted(KINDS)}")
        routes = data.get("routes")
        if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
            raise ValueError("notification field 'routes' must be a list of strings")
        created = data.get("created_at")
        if not isinstance(created, int | float) or isinstance(created, bool):
            raise ValueError("notification field 'created_at' must be a number")
        alerts = data.get("alerts", [])
        if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
            raise ValueError("notification field 'alerts' must be a list of objects")
        severity = data.get("severity", "warning")
        if not isinstance(severity, str):
            raise ValueError("notification field 'severity' must be a string")
        return cls(key=data["key"], kind=data["kind"], routes=tuple(routes), title=data["title"],
                   body=data["body"], group=data["group"], created_at=float(created),
                   severity=severity, alerts=tuple(alerts))
