"""The rule engine: routing (stage 1) and evaluation with notification grouping (stage 2).

Stage 1, ``Router``: an event or a closed window -> the rules it concerns, as small
items keyed by notification group (the rule plus its ``notify.group_by`` labels). The
alerts agent publishes them on a keyed topic so that every item of one group reaches
one partition, whichever partition the event came from (DESIGN §6).

Stage 2, ``Evaluator``: items of one group -> rule-type state, alert lifecycle,
transitions, and (Alertmanager-style ``group_wait``/``group_interval``/
``repeat_interval``) notifications. All state lives in a ``Store`` (the agent's
changelogged table, or a dict when back-testing), one key per group and one per alert.

Two clocks, both passed in (the core reads none): rules (``for``, windows,
``keep_firing_for``, rate caps) run on event time, ``now``; notification scheduling runs,
as in Alertmanager, on the time the engine learns of a change, ``wall``: a group's first
notice leaves ``group_wait`` after its first change was evaluated, later ones
``group_interval`` after the previous flush, repeats ``repeat_interval`` after it. The
wall time a flush is due (``due``) and the last flush (``last_flush``) are in the group
state, so a restart resumes them; a flush that came due while the worker was down goes
out on the first tick, with the key it would have had (group, kind, flush number), which
delivery deduplicates. Back-testing passes no ``wall``: it is then the event-time clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core.alerting import evidence as ev
from app.core.alerting.filters import field_value
from app.core.alerting.lifecycle import Alert, Transition, advance, apply_verdict
from app.core.alerting.models import Rule, RuleSet, fingerprint
from app.core.alerting.notices import build_notification, search_query, search_url
from app.core.alerting.silences import Mutes
from app.core.alerting.templating import TemplateFailure, render
from app.core.alerting.types.base import Verdict
from app.core.alerting.types.flatline import FlatlineRule
from app.core.alerting.types.threshold import ThresholdConfig
from app.core.notification import Notification, NotificationKind

Item = dict[str, Any]
MESSAGE_CHARS = 300


class Store(Protocol):
    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any) -> None: ...


class DictStore:
    """A ``Store`` in a dict (back-testing, unit tests)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value


def group_key(nkey: str) -> str:
    return "g|" + nkey


def alert_key(nkey: str, fp: str) -> str:
    return f"a|{nkey}|{fp}"


def rule_of(nkey: str) -> str:
    return nkey.split("|", 1)[0]


# -- stage 1 ------------------------------------------------------------------------

def slim_event(doc: Mapping[str, Any], ts: float) -> Item:
    http = doc.get("http") if isinstance(doc.get("http"), Mapping) else {}
    assert isinstance(http, Mapping)
    ip = http.get("client_ip") or field_value(doc, "attrs.source_ip")
    return {"k": "e", "ts": ts, "id": doc.get("event_id"), "svc": doc.get("service"),
            "sev": doc.get("severity_text"), "msg": str(doc.get("message") or "")[:MESSAGE_CHARS],
            "route": http.get("route") or http.get("path"), "status": http.get("status"),
            "ip": ip}


def slim_window(doc: Mapping[str, Any]) -> Item:
    keep = ("_id", "service", "granularity_s", "start", "end", "events", "errors", "bytes",
            "status", "latency_ms", "top_routes", "top_clients", "top_errors")
    return {"k": "w", "ts": float(doc["end"]), "doc": {k: doc.get(k) for k in keep}}


class Router:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.event_rules = [r for r in rules.rules if r.kind.source == "events"]
        self.window_rules = [r for r in rules.rules if r.kind.source == "windows"]

    def route_event(self, doc: Mapping[str, Any], ts: float) -> list[tuple[str, Item]]:
        """(notification group, item) for every event rule ``doc`` passes."""
        out: list[tuple[str, Item]] = []
        slim: Item | None = None
        for rule in self.event_rules:
            if not rule.spec.filter.matches(doc):
                continue
            if slim is None:
                slim = slim_event(doc, ts)
            labels = rule.group_labels(doc)
            item = {**slim, "r": rule.name, "g": labels, **rule.kind.extract(doc)}
            out.append((rule.notify_key(labels), item))
        return out

    def route_window(self, doc: Mapping[str, Any]) -> list[tuple[str, Item]]:
        out: list[tuple[str, Item]] = []
        service = str(doc.get("service") or "")
        slim: Item | None = None
        for rule in self.window_rules:
            if not rule.kind.accepts(doc) or not rule.spec.filter.matches_service(service):
                continue
            if slim is None:
                slim = slim_window(doc)
            labels = {"service": service} if "service" in rule.spec.group_by else {}
            out.append((rule.notify_key(labels), {**slim, "r": rule.name, "g": labels}))
        return out


# -- stage 2 ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    error: str
    item: Item | None


@dataclass(slots=True)
class Outcome:
    transitions: list[Transition] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    suppressed: list[tuple[str, str, str]] = field(default_factory=list)  # group, kind, why
    failures: list[RuleFailure] = field(default_factory=list)
    dropped: int = 0  # items of rules that no longer exist

    def extend(self, other: Outcome) -> None:
        self.transitions += other.transitions
        self.notifications += other.notifications
        self.suppressed += other.suppressed
        self.failures += other.failures
        self.dropped += other.dropped


def new_group(nkey: str, since: float) -> dict[str, Any]:
    return {"nkey": nkey, "since": since, "live": [], "members": {}, "notified": {},
            "due": None, "last_flush": None, "flushes": 0, "cap": None, "capped": 0,
            "clock": since}


def lower_is_worse(rule: Rule) -> bool:
    if isinstance(rule.kind, FlatlineRule):
        return True
    config = rule.kind.config
    return isinstance(config, ThresholdConfig) and config.op in ("<", "<=")


class Evaluator:
    def __init__(self, rules: RuleSet, *, base_url: str = "http://127.0.0.1:6066",
                 mutes: Mutes | None = None) -> None:
        self.rules = rules
        self.base_url = base_url
        self.mutes = mutes if mutes is not None else Mutes()

    # -- entry points ---------------------------------------------------------------
    def apply(self, store: Store, nkey: str, items: list[Item], now: float,
              wall: float | None = None) -> Outcome:
        """Fold ``items`` of one notification group at event time ``now`` (or the group's
        latest item, if later), then flush what is due at ``wall`` (default: that time)."""
        out = Outcome()
        rule = self.rules.by_name.get(rule_of(nkey))
        if rule is None:
            out.dropped += len(items)
            return out
        ordered = sorted(items, key=lambda i: float(i["ts"]))
        group = store.get(group_key(nkey)) or new_group(nkey, float(ordered[0]["ts"]))
        touched: dict[str, dict[str, Any]] = {}
        for item in ordered:
            labels = {str(k): str(v) for k, v in (item.get("g") or {}).items()}
            fp = fingerprint(rule.name, labels)
            state = touched.get(fp) or store.get(alert_key(nkey, fp)) or self._new_state(
                rule, fp, labels, group)
            touched[fp] = state
            group["clock"] = max(float(group["clock"]), float(item["ts"]))
            try:
                self._observe(rule, group, state, item, out)
            except (TemplateFailure, ValueError, TypeError, KeyError, ArithmeticError) as exc:
                out.failures.append(RuleFailure(rule.name, f"{type(exc).__name__}: {exc}", item))
        for fp, state in touched.items():
            self._track(rule, group, fp, state)
            store.put(alert_key(nkey, fp), state)
        clock = max(now, float(group["clock"]))
        self._flush(rule, group, clock, clock if wall is None else wall, out)
        store.put(group_key(nkey), group)
        return out

    def tick(self, store: Store, nkey: str, now: float, wall: float | None = None) -> Outcome:
        """Event time is at ``now``: time-based changes; then the flushes due at ``wall``
        (default ``now``)."""
        out = Outcome()
        group = store.get(group_key(nkey))
        rule = self.rules.by_name.get(rule_of(nkey))
        if group is None or rule is None:
            return out
        for fp in list(group["live"]):
            state = store.get(alert_key(nkey, fp))
            if state is None:
                group["live"].remove(fp)
                continue
            try:
                verdict = rule.kind.tick(state["rs"], now)
                self._step(rule, group, state, verdict, now, out)
            except (TemplateFailure, ValueError, TypeError, KeyError, ArithmeticError) as exc:
                out.failures.append(RuleFailure(rule.name, f"{type(exc).__name__}: {exc}", None))
            self._track(rule, group, fp, state)
            store.put(alert_key(nkey, fp), state)
        self._flush(rule, group, now, now if wall is None else wall, out)
        store.put(group_key(nkey), group)
        return out

    def due(self, group: Mapping[str, Any]) -> bool:
        """Whether ``tick`` has anything to do for this group."""
        return bool(group["live"] or group["members"])

    # -- evaluation -----------------------------------------------------------------
    def _new_state(self, rule: Rule, fp: str, labels: dict[str, str],
                   group: Mapping[str, Any]) -> dict[str, Any]:
        return {"rs": {"since": group["since"]}, "a": Alert(rule.name, fp, labels).to_state(),
                "ev": ev.empty()}

    def _observe(self, rule: Rule, group: dict[str, Any], state: dict[str, Any], item: Item,
                 out: Outcome) -> None:
        payload = item["doc"] if item.get("k") == "w" else item
        at = float(item["ts"])
        verdict = rule.kind.observe(state["rs"], payload, at)
        if verdict is None:
            return
        alert = Alert.from_state(state["a"])
        starting = verdict.active and alert.state in ("inactive", "resolved")
        if starting and not self._within_cap(rule, group, verdict.at):
            return
        if starting:
            state["ev"] = ev.empty()
        if item.get("k") == "w":
            if verdict.active or alert.state in ("pending", "firing"):
                state["ev"] = ev.from_window(payload)
        elif verdict.active or alert.state in ("pending", "firing"):
            ev.add_event(state["ev"], item)
        self._step(rule, group, state, verdict, verdict.at, out, alert)

    def _within_cap(self, rule: Rule, group: dict[str, Any], at: float) -> bool:
        cap = getattr(rule.kind, "rate_cap", None)
        if cap is None:
            return True
        limit, per = cap
        window = group.get("cap")
        if window is None or at - float(window[0]) >= per:
            window = group["cap"] = [at, 0]
        if window[1] >= limit:
            group["capped"] = int(group.get("capped", 0)) + 1
            return False
        window[1] += 1
        return True

    def _step(self, rule: Rule, group: dict[str, Any], state: dict[str, Any],
              verdict: Verdict | None, now: float, out: Outcome,
              alert: Alert | None = None) -> None:
        alert = alert or Alert.from_state(state["a"])
        spec = rule.spec
        if verdict is not None:
            changes = apply_verdict(alert, verdict, for_s=spec.for_,
                                    keep_firing_for_s=spec.keep_firing_for,
                                    lower_is_worse=lower_is_worse(rule))
        else:
            changes = advance(alert, now, for_s=spec.for_, keep_firing_for_s=spec.keep_firing_for)
        state["a"] = alert.to_state()
        labels = rule.alert_labels(alert.labels)
        annotations = self._annotations(rule, alert, labels) if (
            changes or alert.state == "firing") else {}
        for change in changes:
            out.transitions.append(dataclasses.replace(
                change, labels=labels, annotations=annotations,
                notify_group=str(group["nkey"])))
        if alert.state == "firing" or (alert.state == "resolved" and (
                changes or alert.fingerprint in group["members"])):
            group["members"][alert.fingerprint] = self._member(
                rule, alert, labels, annotations, state["ev"])

    def _track(self, rule: Rule, group: dict[str, Any], fp: str, state: dict[str, Any]) -> None:
        live: list[str] = group["live"]
        alert_state = state["a"]["state"]
        wanted = alert_state in ("pending", "firing") or rule.kind.needs_tick(state["rs"])
        if wanted and fp not in live:
            live.append(fp)
        elif not wanted and fp in live:
            live.remove(fp)

    def _annotations(self, rule: Rule, alert: Alert, labels: dict[str, str]) -> dict[str, str]:
        context = {"labels": labels, "value": alert.value, "threshold": alert.threshold,
                   "comparison": alert.comparison, "rule": rule.name, "state": alert.state,
                   "baseline": alert.baseline or {}, "peak": alert.peak,
                   "window": {"start": alert.window[0], "end": alert.window[1]}
                   if alert.window else None}
        return {key: render(text, context) for key, text in rule.spec.annotations.items()}

    def _member(self, rule: Rule, alert: Alert, labels: dict[str, str],
                annotations: dict[str, str], evidence: dict[str, Any]) -> dict[str, Any]:
        end = alert.resolved_at if alert.state == "resolved" else alert.last_active
        start = alert.active_since if alert.active_since is not None else end
        if alert.window:
            start = min(float(start or alert.window[0]), alert.window[0])
        lo, hi = float(start or 0.0), float(end or start or 0.0)
        url = search_url(self.base_url, search_query(rule, alert.labels), lo - 60, hi + 60)
        return {
            "rule": rule.name, "fingerprint": alert.fingerprint, "state": alert.state,
            "activation": alert.activation, "labels": labels, "group_labels": alert.labels,
            "annotations": annotations, "value": alert.value, "threshold": alert.threshold,
            "comparison": alert.comparison, "baseline": alert.baseline,
            "window": {"start": alert.window[0], "end": alert.window[1],
                       "size_s": alert.window[1] - alert.window[0]} if alert.window else None,
            "starts_at": alert.active_since,
            "ends_at": alert.resolved_at if alert.state == "resolved" else None,
            "duration_s": (alert.resolved_at - alert.active_since)
            if alert.state == "resolved" and alert.resolved_at is not None
            and alert.active_since is not None else None,
            "peak": alert.peak, "evidence": ev.summary(evidence), "dashboard_url": url,
        }

    # -- notification grouping ------------------------------------------------------
    def _muted(self, member: Mapping[str, Any], now: float) -> str | None:
        labels = member["labels"]
        silence = self.mutes.silenced_by(labels, now)
        if silence is not None:
            return f"silenced by {silence}"
        source = self.mutes.inhibited_by(labels, self.rules.inhibit, member["fingerprint"])
        if source is not None:
            return f"inhibited by {source}"
        return None

    def _flush(self, rule: Rule, group: dict[str, Any], now: float, wall: float,
               out: Outcome) -> None:
        """Send what is due at ``wall``; ``now`` (event time) dates the notification."""
        members: dict[str, dict[str, Any]] = group["members"]
        notified: dict[str, list[Any]] = group["notified"]
        changed = [fp for fp, m in members.items()
                   if notified.get(fp) != [m["state"], m["activation"]]]
        spec = rule.spec
        kind: NotificationKind
        if changed:
            if group.get("due") is None:  # the first change since the last flush
                last = group["last_flush"]
                group["due"] = wall + spec.notify.group_wait if last is None or not notified \
                    else float(last) + spec.notify.group_interval
            if wall < float(group["due"]):
                return
            kind = "firing" if any(members[fp]["state"] == "firing" and
                                   notified.get(fp) != ["firing", members[fp]["activation"]]
                                   for fp in changed) else "resolved"
        else:
            group["due"] = None
            firing = [fp for fp, m in members.items() if m["state"] == "firing"]
            last = group["last_flush"]
            if not firing or last is None or wall < float(last) + spec.repeat_interval:
                return
            kind = "repeat"
        self._send(rule, group, kind, changed, (now, wall), out)

    def _send(self, rule: Rule, group: dict[str, Any], kind: NotificationKind,
              changed: list[str], at: tuple[float, float], out: Outcome) -> None:
        now, wall = at
        members: dict[str, dict[str, Any]] = group["members"]
        notified: dict[str, list[Any]] = group["notified"]
        chosen: list[dict[str, Any]] = []
        reasons: list[str] = []
        for fp, member in sorted(members.items()):
            include = member["state"] == "firing" or fp in changed
            if member["state"] == "resolved" and notified.get(fp) is None:
                include = False  # resolved before anyone heard it fire
            if kind == "repeat" and self.mutes.acked(fp, int(member["activation"])):
                reasons.append("acknowledged")
                include = False
            if include:
                why = self._muted(member, wall)
                if why is None:
                    chosen.append(member)
                else:
                    reasons.append(why)
        news = [m for m in chosen if m["fingerprint"] in changed or kind == "repeat"]
        group["flushes"] = int(group["flushes"]) + 1
        if news:
            out.notifications.append(build_notification(
                rule=rule, group=str(group["nkey"]), kind=kind, alerts=chosen,
                sequence=int(group["flushes"]), at=now, capped=int(group.get("capped", 0))))
            group["capped"] = 0
        else:
            out.suppressed.append((str(group["nkey"]), kind, "; ".join(sorted(set(reasons)))
                                   or "nothing new"))
        for fp in changed:
            member = members[fp]
            notified[fp] = [member["state"], member["activation"]]
        for fp in [fp for fp, m in members.items() if m["state"] == "resolved"]:
            members.pop(fp)
            notified.pop(fp, None)
        group["last_flush"] = wall
        group["due"] = None
        group.pop("dirty", None)  # state written before scheduling moved to wall time


def clock_items(items: list[Item]) -> float:
    return max(float(i["ts"]) for i in items)


Tick = Callable[[str, float], Outcome]
