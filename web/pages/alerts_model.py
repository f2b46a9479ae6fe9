"""The alerts page's and API's data, from what the web process can read.

Pure: documents in, JSON-ready dicts out. The current alert state lives in the alerts
agent's changelogged table, which only the worker owning a partition holds; the web
derives it from the alert history instead: an alert (fingerprint) whose newest
transition in MongoDB ``alert_transitions`` goes to ``pending`` or ``firing`` is active
(``MongoAlertStore.latest_per_alert``). Silences and acks are folded from their topic
(``alerts.silences``, the source of record) on each request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.alerting.durations import parse_duration
from app.core.alerting.models import RuleSet
from app.core.alerting.silences import Mutes, Silence
from app.core.events import iso_utc

ACTIVE = ("firing", "pending")
MAX_MATCHERS = 20
MAX_COMMENT = 1000
MAX_SILENCE_S = 90 * 86400.0
DEFAULT_SILENCE = "2h"


def _iso(ts: Any) -> str | None:
    return iso_utc(float(ts)) if isinstance(ts, int | float) else None


def transition_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A history entry (``_id`` as ``id``, times also as ISO text)."""
    out = {k: v for k, v in doc.items() if k not in ("_id", "_rank")}
    out["id"] = str(doc.get("_id", ""))
    out["at_iso"] = _iso(doc.get("at"))
    return out


def alert_json(doc: Mapping[str, Any], mutes: Mutes, now: float,
               rules: RuleSet | None = None) -> dict[str, Any]:
    """One active alert from its newest transition, with its silence and ack.

    A transition holds the group labels; ``labels`` adds the rule's own (alertname,
    severity, team, ...) when the rule is loaded here, as silences see them.
    """
    group = {str(k): str(v) for k, v in (doc.get("labels") or {}).items()}
    rule = rules.by_name.get(str(doc.get("rule", ""))) if rules is not None else None
    labels = rule.alert_labels(group) if rule is not None else \
        {"alertname": str(doc.get("rule", "")), **group}
    fingerprint = str(doc["fingerprint"])
    activation = int(doc.get("activation") or 0)
    ack = mutes.acks.get(fingerprint)
    window = doc.get("window")
    since = doc.get("starts_at") if doc.get("starts_at") is not None else doc.get("at")
    return {
        "fingerprint": fingerprint, "rule": str(doc.get("rule", "")),
        "state": str(doc.get("to", "")), "activation": activation, "labels": labels,
        "group_labels": group,
        "value": doc.get("value"), "threshold": doc.get("threshold"),
        "comparison": doc.get("comparison") or "", "baseline": doc.get("baseline"),
        "peak": doc.get("peak"),
        "window": {"start": window[0], "end": window[1], "size_s": window[1] - window[0]}
        if isinstance(window, list) and len(window) == 2 else None,
        "since": since, "since_iso": _iso(since), "updated_at": doc.get("at"),
        "annotations": dict(doc.get("annotations") or {}),
        "evidence": doc.get("evidence"),
        "silenced_by": mutes.silenced_by(labels, now),
        "acked_by": ack.by if ack is not None and ack.activation == activation else None,
    }


def current_alerts(latest: Iterable[Mapping[str, Any]], mutes: Mutes, now: float,
                   rules: RuleSet | None = None) -> list[dict[str, Any]]:
    """Active alerts (newest transition to pending or firing): firing first, then newest."""
    found = [alert_json(doc, mutes, now, rules) for doc in latest if doc.get("to") in ACTIVE]
    return sorted(found, key=lambda a: (a["state"] != "firing", -(a["since"] or 0.0),
                                        a["fingerprint"]))


def silence_json(silence: Silence, now: float) -> dict[str, Any]:
    state = "active" if silence.active(now) else (
        "pending" if now < silence.starts_at else "expired")
    return {**silence.to_doc(), "state": state, "starts_at_iso": iso_utc(silence.starts_at),
            "ends_at_iso": iso_utc(silence.ends_at)}


def silences_json(mutes: Mutes, now: float, *, expired: bool = True) -> list[dict[str, Any]]:
    """Active and pending silences first (ending soonest first), then expired ones."""
    rows = [silence_json(s, now) for s in mutes.silences.values()]
    if not expired:
        rows = [r for r in rows if r["state"] != "expired"]
    order = {"active": 0, "pending": 1, "expired": 2}
    return sorted(rows, key=lambda r: (order[r["state"]],
                                       r["ends_at"] if r["state"] != "expired"
                                       else -r["ends_at"], r["id"]))


def rule_rows(rules: RuleSet, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The loaded rules with their state: firing, pending or ok, and how many alerts."""
    rows = []
    for rule in rules.rules:
        mine = [a for a in alerts if a["rule"] == rule.name]
        firing = sum(1 for a in mine if a["state"] == "firing")
        pending = len(mine) - firing
        spec = rule.spec
        rows.append({
            "name": rule.name, "type": rule.kind.name, "severity": spec.severity,
            "origin": rule.origin,
            "state": "firing" if firing else ("pending" if pending else "ok"),
            "firing": firing, "pending": pending,
        })
    return rows


class SilenceRequestError(ValueError):
    """A create-silence request that cannot be a silence; ``field`` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    matchers: tuple[str, ...]
    starts_at: float
    ends_at: float
    comment: str


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SilenceRequestError(name, "must be a number (epoch seconds)")
    return float(value)


def silence_request(body: Any, now: float) -> SilenceRequest:
    """Check a create-silence body (JSON object, or the page's form as a dict).

    ``matchers``: list of ``name=value`` texts (``=``, ``!=``, ``=~``, ``!~``), or one
    text with one matcher per line or comma; ``starts_at`` (epoch seconds, default now);
    ``ends_at`` (epoch seconds) or ``duration`` (``2h``, default 2h); ``comment``.
    """
    if not isinstance(body, Mapping):
        raise SilenceRequestError("body", "must be a JSON object")
    raw = body.get("matchers")
    if isinstance(raw, str):
        raw = [m.strip() for line in raw.splitlines() for m in line.split(",") if m.strip()]
    if not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
        raise SilenceRequestError("matchers", "a non-empty list of texts like name=value")
    if len(raw) > MAX_MATCHERS:
        raise SilenceRequestError("matchers", f"at most {MAX_MATCHERS}")
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise SilenceRequestError("comment", f"a text of at most {MAX_COMMENT} characters")
    starts = _number(body, "starts_at")
    starts = now if starts is None else starts
    if abs(starts - now) > MAX_SILENCE_S:
        raise SilenceRequestError("starts_at", "must be within 90 days of now")
    ends = _number(body, "ends_at")
    duration = body.get("duration")
    if ends is None:
        if duration is not None and not isinstance(duration, str):
            raise SilenceRequestError("duration", "a text like 30m, 2h, 1d")
        try:
            seconds = parse_duration(duration or DEFAULT_SILENCE)
        except ValueError as exc:
            raise SilenceRequestError("duration", str(exc)) from None
        ends = starts + seconds
    elif duration is not None:
        raise SilenceRequestError("duration", "give ends_at or duration, not both")
    if ends <= max(starts, now):
        raise SilenceRequestError("ends_at", "must be later than the start and than now")
    if ends - starts > MAX_SILENCE_S:
        raise SilenceRequestError("ends_at", "a silence lasts at most 90 days")
    return SilenceRequest(tuple(raw), starts, ends, comment)
