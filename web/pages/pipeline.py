"""``/pipeline`` (viewers) and its JSON twin ``GET /api/v1/pipeline``.

Only measured data, each part saying where it comes from:

- agents: records in / events out per agent (``app.metrics`` counters of this worker
  process) and their rate between two reads of this view at least ``RATE_MIN_S`` apart;
- consumer lag: committed offsets of the worker's consumer group (``worker.app_id``;
  ``logs.raw``: the parse stage's, ``<app_id>-parse``) against the end offsets, per
  topic and partition (Kafka admin API);
- dead letters: counts per stage/reason over the newest letters in ``logs.dlq`` (last 5
  minutes, last hour, all read) and this process's ``logwarden_dead_letters_total``;
- watermarks: this process's ``logwarden_window_watermark_lag_seconds`` (when it runs
  the aggregate agent) and the newest closed window per service in MongoDB;
- sinks: ``logwarden_sink_write_seconds`` (count, mean, p50/p95 estimated from the
  histogram's buckets) and retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from aiohttp import web as aioweb
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from faust.web import Request, View
from prometheus_client import Metric

from app.adapters.dlq import partitions, read_recent
from app.adapters.kafka_admin import topic_names
from app.core.events import iso_utc
from app.core.tokens import Scope
from app.faust_app import app, settings
from app.metrics import (
    DEAD_LETTERS,
    EVENTS_OUT,
    RECORDS_IN,
    SINK_LATENCY,
    SINK_RETRIES,
    WINDOW_WATERMARK_LAG,
)
from web.auth import Role, require
from web.deps import authenticate, ok_json, window_store
from web.openapi import json_response, register
from web.pages.setup import render

log = logging.getLogger(__name__)
RATE_MIN_S = 5.0
_snapshots: deque[tuple[float, dict[str, tuple[float, float]]]] = deque(maxlen=32)


def _samples(metric: Any, suffix: str = "") -> list[tuple[dict[str, str], float]]:
    families: list[Metric] = list(metric.collect())
    return [(s.labels, s.value) for f in families for s in f.samples
            if suffix == "" or s.name.endswith(suffix)]


def agent_rows(now: float) -> list[dict[str, Any]]:
    counts: dict[str, tuple[float, float]] = {}
    for labels, value in _samples(RECORDS_IN, "_total"):
        counts[labels["agent"]] = (value, counts.get(labels["agent"], (0.0, 0.0))[1])
    for labels, value in _samples(EVENTS_OUT, "_total"):
        counts[labels["agent"]] = (counts.get(labels["agent"], (0.0, 0.0))[0], value)
    base = next(((t, c) for t, c in reversed(_snapshots) if now - t >= RATE_MIN_S), None)
    if not _snapshots or now - _snapshots[-1][0] >= 1.0:
        _snapshots.append((now, counts))
    rows = []
    for agent, (records_in, events_out) in sorted(counts.items()):
        row: dict[str, Any] = {"agent": agent, "records_in": int(records_in),
                               "events_out": int(events_out), "in_per_s": None,
                               "out_per_s": None, "rate_over_s": None}
        if base is not None:
            span = now - base[0]
            before = base[1].get(agent, (0.0, 0.0))
            row |= {"in_per_s": round((records_in - before[0]) / span, 2),
                    "out_per_s": round((events_out - before[1]) / span, 2),
                    "rate_over_s": round(span, 1)}
        rows.append(row)
    return rows


def group_of(topic: str) -> str:
    """The consumer group that reads ``topic``: the parse stage reads ``logs.raw`` in a
    group of its own (``agents.parse``), every agent the rest in the worker's."""
    app_id = settings.worker.app_id
    return f"{app_id}-parse" if topic == settings.topics.raw else app_id


async def consumer_lag() -> list[dict[str, Any]]:
    """Per topic and partition: end offset, its group's committed offset, lag."""
    bootstrap = settings.kafka.bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, request_timeout_ms=15_000)
    await admin.start()
    await consumer.start()
    try:
        tps = [tp for t in topic_names(settings) for tp in await partitions(consumer, t)]
        groups = sorted({group_of(tp.topic) for tp in tps})
        committed = {group: await admin.list_consumer_group_offsets(group)
                     for group in groups}
        ends = await consumer.end_offsets(tps) if tps else {}
    finally:
        await consumer.stop()
        await admin.close()
    rows = []
    for tp in tps:
        group = group_of(tp.topic)
        meta = committed[group].get(tp)
        offset = meta.offset if meta is not None and meta.offset >= 0 else None
        rows.append({"topic": tp.topic, "partition": tp.partition, "group": group,
                     "end": ends[tp],
                     "committed": offset,
                     "lag": ends[tp] - offset if offset is not None else None})
    return [r for r in rows if r["committed"] is not None or r["end"] > 0]


async def dead_letter_rates(now: float) -> dict[str, Any]:
    letters = await read_recent(settings.kafka.bootstrap_servers, settings.topics.dlq,
                                scan=1000)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for letter in letters:
        key = (str(letter.doc.get("stage", "?")), str(letter.doc.get("reason", "?")))
        row = rows.setdefault(key, {"stage": key[0], "reason": key[1], "last_5m": 0,
                                    "last_1h": 0, "read": 0, "newest": None})
        age = now - letter.timestamp
        row["read"] += 1
        row["last_5m"] += age <= 300
        row["last_1h"] += age <= 3600
        row["newest"] = max(row["newest"] or 0.0, letter.timestamp)
    for row in rows.values():
        row["per_min_5m"] = round(row["last_5m"] / 5, 2)
        row["newest"] = iso_utc(row["newest"]) if row["newest"] else None
    return {"topic": settings.topics.dlq, "read": len(letters),
            "by_reason": sorted(rows.values(), key=lambda r: (-r["last_1h"], -r["read"])),
            "this_process": [{"stage": labels["stage"], "reason": labels["reason"],
                              "count": int(value)}
                             for labels, value in _samples(DEAD_LETTERS, "_total")]}


async def watermarks(now: float) -> dict[str, Any]:
    newest = await window_store().newest_per_service()
    return {
        "this_process": [{"partition": int(labels["partition"]), "lag_s": round(value, 3)}
                         for labels, value in _samples(WINDOW_WATERMARK_LAG)],
        "closed_windows": [row | {"end_iso": iso_utc(row["end"]),
                                  "behind_s": round(now - row["end"], 1)}
                           for row in newest],
    }


def _quantile(buckets: list[tuple[float, float]], count: float, q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` (a conservative estimate)."""
    if count <= 0:
        return None
    for bound, cumulative in buckets:
        if cumulative >= q * count:
            return bound
    return None


def sink_rows() -> list[dict[str, Any]]:
    sinks: dict[str, dict[str, Any]] = {}
    for family in SINK_LATENCY.collect():
        for s in family.samples:
            sink = sinks.setdefault(s.labels["sink"], {"buckets": [], "count": 0.0,
                                                       "sum": 0.0})
            if s.name.endswith("_bucket"):
                sink["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                sink["count"] = s.value
            elif s.name.endswith("_sum"):
                sink["sum"] = s.value
    retries = {labels["sink"]: value for labels, value in _samples(SINK_RETRIES, "_total")}
    rows = []
    for name, sink in sorted(sinks.items()):
        count, buckets = sink["count"], sorted(sink["buckets"])
        rows.append({"sink": name, "writes": int(count),
                     "mean_s": round(sink["sum"] / count, 4) if count else None,
                     "p50_le_s": _quantile(buckets, count, 0.5),
                     "p95_le_s": _quantile(buckets, count, 0.95),
                     "retries": int(retries.get(name, 0))})
    return rows


async def _part(name: str, work: Any, problems: list[str]) -> Any:
    try:
        return await work
    except Exception as exc:
        log.warning("pipeline: %s failed: %r", name, exc)
        problems.append(f"{name}: {exc}")
        return None


async def pipeline_state() -> dict[str, Any]:
    now = time.time()
    problems: list[str] = []
    lag, dlq, marks = await asyncio.gather(
        _part("consumer lag", consumer_lag(), problems),
        _part("dead letters", dead_letter_rates(now), problems),
        _part("watermarks", watermarks(now), problems))
    return {"generated_at": iso_utc(now), "group": settings.worker.app_id,
            "agents": agent_rows(now), "lag": lag, "dead_letters": dlq,
            "watermarks": marks, "sinks": sink_rows(), "problems": problems}


@app.page("/api/v1/pipeline")
class PipelineApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        return ok_json(await pipeline_state())


@app.page("/pipeline")
class PipelinePage(View):
    async def get(self, request: Request) -> aioweb.Response:
        principal = require(request, Role.VIEWER)
        state = await pipeline_state()
        return render(request, "pipeline.html",
                      {"p": state, "is_admin": principal.has(Role.ADMIN)}, active="pipeline")


_rows = {"type": "array", "items": {"type": "object"}}
_nullable_rows = {"type": "array", "nullable": True, "items": {"type": "object"}}
register("/api/v1/pipeline", "get", {
    "summary": "Pipeline health: per-agent throughput, consumer lag, dead letters by "
               "reason, window watermarks, sink latencies",
    "responses": {"200": json_response({
        "type": "object",
        "required": ["generated_at", "group", "agents", "lag", "dead_letters", "watermarks",
                     "sinks", "problems"],
        "properties": {
            "generated_at": {"type": "string"}, "group": {"type": "string"},
            "agents": _rows, "lag": _nullable_rows,
            "dead_letters": {"type": "object", "nullable": True},
            "watermarks": {"type": "object", "nullable": True},
            "sinks": _rows, "problems": {"type": "array", "items": {"type": "string"}},
        }}),
    },
})
