"""Notification text: title and Markdown body with the evidence, and the search link.

The link opens the dashboard search pre-filtered to the alert's group and time range:
``{base_url}/search?q=<KQL>&from=<iso>&to=<iso>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from app.core.alerting.durations import format_duration
from app.core.alerting.filters import kql_label, label_name
from app.core.alerting.models import Rule
from app.core.events import iso_utc
from app.core.notification import Notification, NotificationKind

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of a query value (the core imports no urllib)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def search_query(rule: Rule, group: Mapping[str, str]) -> str:
    clauses = rule.spec.filter.kql()
    paths = {label_name(p): p for p in rule.label_paths}
    clauses += [kql_label(paths.get(name, name), value) for name, value in group.items()
                if value != ""]
    return " AND ".join(clauses) or "*"


def search_url(base_url: str, query: str, start: float, end: float) -> str:
    return (f"{base_url.rstrip('/')}/search?q={percent_encode(query)}"
            f"&from={percent_encode(iso_utc(start))}&to={percent_encode(iso_utc(end))}")


def notification_key(group: str, kind: str, sequence: int) -> str:
    """Idempotency key: the group, the kind and the group's flush number (replay-stable)."""
    return hashlib.sha256(f"{group}\x1f{kind}\x1f{sequence}".encode()).hexdigest()[:32]


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.4g}"


def _window(alert: Mapping[str, Any]) -> str:
    window = alert.get("window")
    if not window:
        return ""
    start, end = float(window["start"]), float(window["end"])
    return f"{iso_utc(start)} to {iso_utc(end)} ({format_duration(end - start)})"


def _tops(name: str, pairs: Sequence[Sequence[Any]]) -> str | None:
    if not pairs:
        return None
    return f"{name}: " + ", ".join(f"{k} ({v})" for k, v in pairs)


def render_alert(alert: Mapping[str, Any]) -> list[str]:
    labels = alert.get("labels") or {}
    shown = {k: v for k, v in labels.items() if k not in ("alertname", "severity", "team")}
    head = ", ".join(f"{k}={v}" for k, v in shown.items()) or alert.get("rule", "")
    lines = [f"**{alert['state'].upper()}** {head}"]
    annotations = alert.get("annotations") or {}
    if annotations.get("summary"):
        lines.append(f"  {annotations['summary']}")
    if alert.get("comparison"):
        lines.append(f"  value: {alert['comparison']}")
    baseline = alert.get("baseline")
    if baseline:
        lines.append(f"  baseline: mean {_num(baseline.get('mean'))}, stddev "
                     f"{_num(baseline.get('stddev'))}, z {_num(baseline.get('z'))}")
    elif alert.get("threshold") is not None:
        lines.append(f"  current {_num(alert.get('value'))} vs threshold "
                     f"{_num(alert.get('threshold'))}")
    window = _window(alert)
    if window:
        lines.append(f"  window: {window}")
    if alert["state"] == "resolved":
        lines.append(f"  resolved after {format_duration(float(alert.get('duration_s') or 0))}"
                     f", peak {_num(alert.get('peak'))}")
    elif alert.get("starts_at") is not None:
        lines.append(f"  active since {iso_utc(float(alert['starts_at']))}, peak "
                     f"{_num(alert.get('peak'))}")
    if annotations.get("description"):
        lines.append(f"  {annotations['description']}")
    evidence = alert.get("evidence") or {}
    for name, key in (("top routes", "top_routes"), ("status codes", "top_statuses"),
                      ("client IPs", "top_ips")):
        text = _tops(name, evidence.get(key) or [])
        if text:
            lines.append(f"  {text}")
    samples = evidence.get("samples") or []
    if samples:
        lines.append("  sample lines:")
        lines += [f"    > {s}" for s in samples[:5]]
    if alert.get("dashboard_url"):
        lines.append(f"  search: {alert['dashboard_url']}")
    return lines


def build_notification(*, rule: Rule, group: str, kind: NotificationKind,
                       alerts: list[dict[str, Any]], sequence: int, at: float,
                       capped: int = 0) -> Notification:
    firing = sum(1 for a in alerts if a["state"] == "firing")
    resolved = sum(1 for a in alerts if a["state"] == "resolved")
    tag = {"firing": f"FIRING:{firing}", "repeat": f"STILL FIRING:{firing}",
           "resolved": f"RESOLVED:{resolved}", "test": "TEST"}[kind]
    labels = [f"{k}={v}" for k, v in (alerts[0].get("group_labels") or {}).items()] \
        if len(alerts) == 1 else []
    title = f"[{tag}] {rule.name}" + (f" ({', '.join(labels)})" if labels else "")
    body = [f"### {title}", "", rule.spec.description or rule.kind.describe(),
            f"condition: {rule.kind.describe()}"]
    owner = ", ".join(x for x in (rule.spec.team, rule.spec.owner) if x)
    if owner:
        body.append(f"owner: {owner}")
    for alert in alerts:
        body.append("")
        body += render_alert(alert)
    if capped:
        body += ["", f"{capped} more alert(s) of this rule were held back by its rate cap."]
    return Notification(key=notification_key(group, kind, sequence), kind=kind,
                        routes=tuple(rule.spec.routes), title=title, body="\n".join(body),
                        group=group, created_at=at, severity=rule.spec.severity,
                        alerts=tuple(alerts))
