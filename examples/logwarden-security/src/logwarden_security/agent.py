"""Plugin agent ``security``: password spraying (many users failing from one IP).

Two Faust agents, declared through the plugin context (never ``app.faust_app``):

1. ``security.route`` reads ``logs.events`` (keyed by service) and re-keys each failed
   login by source IP onto the plugin's own topic ``<app id>-security-failures``: one
   IP's failures come from every service, so from every partition, and must meet on one.
2. ``security.detect`` reads that topic event by event and folds each IP's failures into
   the changelogged table ``security-spray`` (partitioned like the topic, so a
   rebalance moves an IP's state with its partition). When distinct users within the
   time frame reach ``min_users`` across ``min_services`` services, it publishes a
   finding on ``security.findings``, at most once per time frame per IP. Event time
   only: a replay produces the same findings with the same ids.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import Field

from app.core.errors import ProcessorError, Reason
from app.plugins.context import PluginContext, PluginStageError
from app.plugins.contracts import AgentPlugin, PluginConfig
from logwarden_security import __version__
from logwarden_security.rules import DistinctCounter, event_time

FAILED = ("failure", "invalid_user")


class SecurityConfig(PluginConfig):
    """``plugins.security`` settings."""

    min_users: int = Field(10, ge=2, description="distinct users failing from one IP")
    min_services: int = Field(2, ge=1, description="... on at least this many services")
    window_s: float = Field(300.0, gt=0, le=86400, description="time frame (event time)")


def spray_rule(config: SecurityConfig) -> DistinctCounter:
    """The detection, as the plugin's own ``distinct_count`` rule type configures it."""
    return DistinctCounter.from_config({
        "field": "attrs.user", "group_by": "attrs.source_ip", "threshold": config.min_users,
        "timeframe_s": config.window_s, "where": {"attrs.auth_result": list(FAILED)},
        "across": "service", "min_across": config.min_services})


def failure_record(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of an event the detector needs (what goes on the re-keyed topic)."""
    attrs = doc.get("attrs") or {}
    return {"event_id": doc.get("event_id"), "ts": doc.get("ts"), "service": doc.get("service"),
            "attrs": {k: attrs[k] for k in ("user", "source_ip", "auth_result") if k in attrs}}


def detect(rule: DistinctCounter, entry: dict[str, Any] | None, failure: dict[str, Any],
           window_s: float) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Fold one failure into an IP's entry; return the new entry and a finding, if any."""
    entry = entry or {"rule": None, "fired_at": None}
    state = rule.fold(entry["rule"], failure)
    now = event_time(failure)
    finding = None
    fired_at = entry["fired_at"]
    if now is not None and (fired_at is None or now - fired_at >= window_s):
        observation = rule.check(state, now)
        if observation is not None:
            fired_at = now
            ip = observation.labels["attrs.source_ip"]
            finding = {
                "finding_id": hashlib.sha256(f"spray|{ip}|{now}".encode()).hexdigest()[:32],
                "kind": "password_spraying", "source_ip": ip, "at": now,
                "users": int(observation.value), "threshold": int(observation.threshold),
                "services": list(observation.evidence.get("service", [])),
                "sample_users": list(observation.evidence.get("values", []))[:10],
                "window_s": window_s, "summary": observation.summary,
            }
    return {"rule": state, "fired_at": fired_at}, finding


def register(ctx: PluginContext) -> None:
    config = ctx.settings
    assert isinstance(config, SecurityConfig)
    rule = spray_rule(config)
    failures = ctx.topic("failures")
    spray = ctx.table("spray", help="per source IP: recent failed users and services")
    routed = ctx.metrics.counter("failures_routed_total", "Failed logins re-keyed by IP")
    found = ctx.metrics.counter("findings_total", "Password-spraying findings published")

    @ctx.agent(ctx.input_topic, name="route")
    async def route(stream: Any) -> None:
        async for batch in ctx.batches(stream, 500, within=0.5):
            records = []
            for event in batch:
                try:
                    docs = orjson.loads(event.value or b"[]")
                except orjson.JSONDecodeError:
                    continue  # the index agent dead-letters undecodable logs.events messages
                for doc in docs if isinstance(docs, list) else [docs]:
                    if not isinstance(doc, dict):
                        continue
                    key = rule.group_key(doc)
                    if key is not None:
                        records.append((failures, key.encode(),
                                        orjson.dumps(failure_record(doc))))
            ctx.metrics.records_in("route", len(batch))
            if records:
                await ctx.publish(records, what="security failures")
                routed.inc(len(records))

    @ctx.agent(failures, name="detect")
    async def detect_agent(stream: Any) -> None:
        async for event in stream.events():  # one by one: each table write's changelog
            try:                              # partition is this event's partition
                failure = orjson.loads(event.value)
                ip = event.key.decode()
            except (orjson.JSONDecodeError, AttributeError, UnicodeDecodeError) as exc:
                await ctx.dead_letter(PluginStageError(Reason.MALFORMED_JSON, str(exc)), event)
                continue
            ctx.metrics.records_in("detect")
            try:
                entry, finding = detect(rule, spray.get(ip), failure, config.window_s)
            except (KeyError, TypeError, ValueError) as exc:
                error: ProcessorError = PluginStageError(Reason.BAD_FIELD, repr(exc))
                await ctx.dead_letter(error, event)
                continue
            spray[ip] = entry
            if finding is not None and ctx.output_topic is not None:
                await ctx.publish([(ctx.output_topic, ip.encode(), orjson.dumps(finding))],
                                  what="security findings")
                found.inc()
                ctx.metrics.events_out("detect")


plugin = AgentPlugin(
    name="security", version=__version__, register=register, config=SecurityConfig,
    input="events", output="security.findings",
    description="password spraying: many users failing from one IP across services")
