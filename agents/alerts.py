"""Agents ``alerts``: rules evaluated as the stream flows (DESIGN §6).

Stage 1 (``alerts-route-events``, ``alerts-route-windows``) reads ``logs.events`` and
``windows.closed``, keeps what each rule looks at (``Router``) and republishes it on
``alerts.keyed``, keyed by notification group: a rule grouped by client IP or user sees
every event of a group on one partition, whichever service logged it.

Stage 2 (``alerts``) folds those items into the alert table (``Evaluator``: rule-type
state, lifecycle, Alertmanager-style grouping) and sends, in this order, notifications
on ``notifications.outbox`` and transitions on ``alerts.transitions`` (acknowledged),
transitions into MongoDB, rule failures to ``logs.dlq``, and only then writes the table.
A timer moves the event-time clock (largest event time minus grace; with the wall clock
once a partition is idle) for ``for``, resolves and the rule types' own timeouts, and
passes the wall clock for notification scheduling: ``group_wait``, ``group_interval``
and ``repeat_interval`` elapse in real time, as in Alertmanager, so a burst that goes
quiet is notified ``group_wait`` after it was evaluated, not after the idle fallback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from pymongo.errors import PyMongoError

from agents.batches import acked_batches
from agents.deadletters import dead_letter_records
from agents.publish import Record, publish
from app.adapters.alert_store import MongoAlertStore
from app.adapters.retrying import until_done
from app.adapters.rule_files import load_rule_paths
from app.adapters.silences import MuteFeed
from app.core.alerting.engine import Evaluator, Item, Outcome, Router, group_key
from app.core.alerting.loading import RuleLoadError
from app.core.alerting.registry import register_rule_type
from app.core.deadletter import DeadLetter
from app.core.errors import ProcessorError, Reason
from app.core.eventbatch import decode_event_batch
from app.core.windows.stats import event_time
from app.core.windows.watermark import Watermarks
from app.faust_app import (
    alerts_keyed_topic,
    alerts_transitions_topic,
    app,
    events_topic,
    notifications_outbox_topic,
    settings,
    windows_closed_topic,
)
from app.metrics import ALERT_STATES, ALERTS
from app.plugins import registry
from tables.alerts import BufferedStore, alert_states, alert_table, groups_of

TABLE: Any = alert_table  # faust types tables loosely

log = logging.getLogger(__name__)
a = settings.alerting

registry().feed("rule_types", register_rule_type)  # built-in and plugins' rule types
try:
    RULES = load_rule_paths([a.rules_dir], settings.windows.service_sizes_s)
except RuleLoadError as exc:  # the worker does not start on broken rules
    raise SystemExit(f"logwarden: invalid alert rules:\n{exc}") from None
log.info("alert rules loaded from %s: %s", a.rules_dir, ", ".join(r.name for r in RULES.rules))

ROUTER = Router(RULES)
FEED = MuteFeed(settings)
EVALUATOR = Evaluator(RULES, base_url=a.dashboard_base_url, mutes=FEED.mutes)
CLOCK = Watermarks(a.grace_s, a.idle_after_s)
LOCK = asyncio.Lock()
STORE: dict[str, MongoAlertStore] = {}


# -- stage 1: route and repartition -------------------------------------------------

def _keyed(grouped: dict[str, list[Item]]) -> list[Record]:
    return [(alerts_keyed_topic, nkey.encode(), orjson.dumps({"items": items}))
            for nkey, items in grouped.items()]


@app.agent(events_topic, name="alerts-route-events")
async def route_events(stream: Any) -> None:
    async for batch in acked_batches(stream, a.batch_size, a.batch_wait_s):
        grouped: dict[str, list[Item]] = {}
        for event in batch:
            try:
                docs = decode_event_batch(event.value or b"")
            except ProcessorError:
                continue  # the index agent dead-letters it
            for doc in docs:
                try:
                    ts = event_time(doc)
                except (KeyError, ValueError):
                    continue
                for nkey, item in ROUTER.route_event(doc, ts):
                    grouped.setdefault(nkey, []).append(item)
        if grouped:
            await publish(_keyed(grouped), what="alerts.keyed")


@app.agent(windows_closed_topic, name="alerts-route-windows")
async def route_windows(stream: Any) -> None:
    async for batch in acked_batches(stream, a.batch_size, a.batch_wait_s):
        grouped: dict[str, list[Item]] = {}
        for event in batch:
            try:
                doc = orjson.loads(event.value or b"")
                routed = ROUTER.route_window(doc)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping a bad windows.closed message: %s", exc)
                continue
            for nkey, item in routed:
                grouped.setdefault(nkey, []).append(item)
        if grouped:
            await publish(_keyed(grouped), what="alerts.keyed")


# -- stage 2: evaluate ----------------------------------------------------------------

def clock(partition: int, now: float) -> float | None:
    return CLOCK.watermark(partition, now)


def wall_clock() -> float:
    """The time notification scheduling runs on (a seam for tests)."""
    return time.time()


@app.agent(alerts_keyed_topic, name="alerts")
async def evaluate(stream: Any) -> None:
    await _feed_ready()
    async for batch in acked_batches(stream, a.batch_size, a.batch_wait_s):
        wall = wall_clock()
        work: dict[tuple[int, str], list[Item]] = {}
        origin: dict[tuple[int, str], tuple[int, bytes]] = {}
        for event in batch:
            msg = event.message
            try:
                nkey = bytes(event.key or b"").decode()
                items = list(orjson.loads(event.value or b"")["items"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                await _dead_letter(f"undecodable alerts.keyed message: {exc}", event.value or b"",
                                   msg.partition, msg.offset, "alerts")
                continue
            if not items:
                continue
            key = (msg.partition, nkey)
            work.setdefault(key, []).extend(items)
            origin.setdefault(key, (msg.offset, event.value or b""))
            CLOCK.observe(msg.partition, max(float(i["ts"]) for i in items), wall)
        async with LOCK:
            for (partition, nkey), items in sorted(work.items()):
                store = BufferedStore(alert_table, partition)
                now = clock(partition, wall) or max(float(i["ts"]) for i in items)
                outcome = EVALUATOR.apply(store, nkey, items, now, wall)
                await _emit(outcome, store, partition, origin[(partition, nkey)])


@app.timer(a.tick_interval_s)  # type: ignore[untyped-decorator]
async def tick_alerts() -> None:
    if app.rebalancing or app.in_recovery or not FEED.ready.is_set():
        return
    try:
        await tick_due(wall_clock())
        owned = {tp.partition for tp in app.assignor.assigned_actives()
                 if tp.topic == settings.topics.alerts_keyed}
        for state, count in alert_states(alert_table, owned, ALERT_STATES).items():
            ALERTS.labels(state).set(count)
    except Exception:  # never let the timer die; the next tick retries
        log.exception("alert evaluation tick failed; retrying on the next tick")


async def tick_due(wall: float) -> int:
    """Tick every group on the owned partitions at wall time ``wall`` (event time: the
    partitions' clocks); returns how many groups were ticked."""
    ticked = 0
    async with LOCK:
        topic = settings.topics.alerts_keyed
        owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
        for partition, nkeys in sorted(groups_of(alert_table, owned).items()):
            now = clock(partition, wall)
            if now is None:
                stored = [TABLE.get(group_key(n)) for n in nkeys]
                latest = [float(g["clock"]) for g in stored if g is not None]
                if not latest:
                    continue
                CLOCK.observe(partition, max(latest), wall)  # a restart: resume the clock
                now = clock(partition, wall)
                if now is None:
                    continue
            for nkey in nkeys:
                group = TABLE.get(group_key(nkey))
                if group is None or not EVALUATOR.due(group):
                    continue
                store = BufferedStore(alert_table, partition)
                await _emit(EVALUATOR.tick(store, nkey, now, wall), store, partition, None)
                ticked += 1
    return ticked


async def _emit(outcome: Outcome, store: BufferedStore, partition: int,
                origin: tuple[int, bytes] | None) -> None:
    records: list[Record] = [(notifications_outbox_topic, n.key.encode(), n.to_json())
                             for n in outcome.notifications]
    docs = [t.to_doc() for t in outcome.transitions]
    records += [(alerts_transitions_topic, doc["fingerprint"].encode(), orjson.dumps(doc))
                for doc in docs]
    for failure in outcome.failures:
        offset, raw = origin if origin is not None else (-1, b"")
        original = orjson.dumps(failure.item) if failure.item is not None else raw
        records += dead_letter_records([_letter(f"rule {failure.rule}: {failure.error}",
                                                original, partition, offset, failure.rule)])
    if records:
        await publish(records, what="alert")
    if docs:
        await _record_history(docs)
    for group, kind, why in outcome.suppressed:
        log.info("alerts: %s notification of %s not sent: %s", kind, group, why)
    for n in outcome.notifications:
        log.info("alerts: %s notification %s for %s", n.kind, n.key, n.group)
    store.commit()


def _letter(error: str, original: bytes, partition: int, offset: int, rule: str) -> DeadLetter:
    return DeadLetter(stage="alert", reason=Reason.RULE_FAILED, error=error, original=original,
                      parser=rule, topic=settings.topics.alerts_keyed, partition=partition,
                      offset=offset, index=0, first_seen=time.time())


async def _dead_letter(error: str, raw: bytes, partition: int, offset: int, rule: str) -> None:
    await publish(dead_letter_records([_letter(error, raw, partition, offset, rule)]),
                  what="dead-letter")


def alert_store() -> MongoAlertStore:
    if "mongo" not in STORE:
        STORE["mongo"] = MongoAlertStore(settings.mongo.url, settings.mongo.database)
    return STORE["mongo"]


async def _record_history(docs: list[dict[str, Any]]) -> None:
    await until_done(lambda: alert_store().record_transitions(docs), retry_on=PyMongoError,
                     what="alert history write", max_backoff_s=settings.mongo.max_backoff_s,
                     log=log)


async def _feed_ready() -> None:
    """Silences and firing alerts are known before the first notification goes out."""
    FEED.start()
    try:
        await asyncio.wait_for(FEED.ready.wait(), timeout=60)
    except TimeoutError:
        log.warning("silences not read within 60 s; evaluating without them for now")


@app.task  # type: ignore[untyped-decorator]
async def prepare_alerts() -> None:
    FEED.on_mute = _record_mutes
    FEED.start()
    attempt = 0
    while True:
        try:
            await alert_store().ensure_indexes()
            return
        except PyMongoError as exc:
            attempt += 1
            log.warning("alert history indexes not ready (attempt %d): %s", attempt, exc)
            await asyncio.sleep(min(30.0, 0.5 * attempt))


async def _record_mutes(batch: dict[str, Any]) -> None:
    try:
        await alert_store().record_mutes(batch["docs"])
    except PyMongoError as exc:  # the topic stays the source; the next start rewrites
        log.warning("silence history write failed: %s", exc)


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _hold_alerts(sender: Any, *args: Any, **kwargs: Any) -> None:
    """A rebalance waits for an evaluation in progress to finish publishing."""
    async with LOCK:
        await app.producer.flush()


@app.on_before_shutdown.connect  # type: ignore[arg-type]
async def _close_alerts(sender: Any, *args: Any, **kwargs: Any) -> None:
    await FEED.stop()
    store = STORE.pop("mongo", None)
    if store is not None:
        await store.close()
