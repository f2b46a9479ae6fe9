"""``/dlq`` (admins): recent dead letters from ``logs.dlq`` and their replay.

- ``GET /dlq?stage=&reason=&limit=``: the page (newest first, bounded scan), with a
  replay form (CSRF-checked ``POST /dlq/replay``);
- ``GET /api/v1/dlq``, ``POST /api/v1/dlq/replay`` (``{"ids": [...], "force": false}``):
  the same for admin tokens (or admin sessions).

Replay (``app.adapters.dlq``) re-produces a letter's original bytes to its source topic
(only letters of the raw topic: a fixed parser handles them again) and records who
replayed it when in MongoDB; replaying a letter again is refused (``already_replayed``,
saying by whom and when) unless ``force`` is set, and then counted.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.adapters.dlq import (
    StoredLetter,
    fetch,
    parse_letter_id,
    produce,
    read_recent,
    replay_headers,
)
from app.core.deadletter import original_from_doc
from app.core.events import iso_utc
from app.core.tokens import Scope
from app.faust_app import app, settings
from web.auth import Principal, Role, require
from web.deps import authenticate, bad_param, ok_json, problem, replay_log
from web.openapi import json_response, problem_responses, query_param, register
from web.pages.setup import render

log = logging.getLogger(__name__)
SCAN = 500  # newest dead letters read per partition
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_REPLAY = 200  # letters per replay request


def _replayable(letter: StoredLetter) -> str | None:
    """Why ``letter`` cannot be replayed, or ``None``."""
    if letter.source.get("topic") != settings.topics.raw:
        return f"only letters of {settings.topics.raw} are replayed"
    if letter.doc.get("original_truncated"):
        return "the original was truncated in the dead letter"
    if not isinstance(letter.doc.get("original"), str):
        return "no original bytes"
    return None


def _iso(value: Any) -> str | None:
    """A MongoDB date (naive UTC) as ISO 8601 UTC."""
    if not isinstance(value, datetime):
        return None
    return iso_utc((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def _replay_json(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {"count": int(doc.get("count", 0)), "last_by": doc.get("last_by"),
            "last_at": _iso(doc.get("last_at")), "first_by": doc.get("first_by"),
            "first_at": _iso(doc.get("first_at")), "target": doc.get("target")}


def letter_json(letter: StoredLetter, replay: dict[str, Any] | None) -> dict[str, Any]:
    doc = letter.doc
    why_not = _replayable(letter)
    return {
        "id": letter.id, "partition": letter.partition, "offset": letter.offset,
        "at": iso_utc(letter.timestamp),
        "stage": str(doc.get("stage", "")), "reason": str(doc.get("reason", "")),
        "error": str(doc.get("error", "")), "parser": doc.get("parser"),
        "original": str(doc.get("original", "")),
        "original_encoding": str(doc.get("original_encoding", "utf-8")),
        "original_size": int(doc.get("original_size") or 0),
        "original_truncated": bool(doc.get("original_truncated")),
        "source": letter.source, "first_seen": doc.get("first_seen"),
        "replayable": why_not is None, "not_replayable_because": why_not,
        "replay": _replay_json(replay),
    }


async def recent_letters(stage: str, reason: str, limit: int,
                         ) -> tuple[list[dict[str, Any]], dict[str, int], int]:
    """The newest ``limit`` letters matching ``stage``/``reason``, counts per
    ``stage/reason`` of every letter read, and how many were read."""
    letters = await read_recent(settings.kafka.bootstrap_servers, settings.topics.dlq,
                                scan=SCAN)
    counts: dict[str, int] = {}
    for letter in letters:
        key = f"{letter.doc.get('stage', '?')}/{letter.doc.get('reason', '?')}"
        counts[key] = counts.get(key, 0) + 1
    shown = [s for s in letters if (not stage or s.doc.get("stage") == stage)
             and (not reason or s.doc.get("reason") == reason)][:limit]
    replays = await replay_log().of(s.id for s in shown)
    return ([letter_json(s, replays.get(s.id)) for s in shown],
            dict(sorted(counts.items(), key=lambda kv: -kv[1])), len(letters))


async def replay(ids: list[str], principal: Principal, force: bool) -> list[dict[str, Any]]:
    """Replay the letters ``ids`` (``partition-offset`` in the dead-letter topic)."""
    bootstrap, who, now = settings.kafka.bootstrap_servers, principal.name or principal.subject, \
        time.time()
    results: dict[str, dict[str, Any]] = {}
    positions = {}
    for letter_id in dict.fromkeys(ids):
        pos = parse_letter_id(letter_id)
        if pos is None:
            results[letter_id] = {"id": letter_id, "status": "invalid",
                                  "detail": "expected <partition>-<offset>"}
        else:
            positions[letter_id] = pos
    found = await fetch(bootstrap, settings.topics.dlq, positions.values())
    letters: dict[str, StoredLetter] = {}
    for letter_id, pos in positions.items():
        record = found.get(pos)
        if record is None:
            results[letter_id] = {"id": letter_id, "status": "missing",
                                  "detail": f"no dead letter at {settings.topics.dlq} {pos}"}
            continue
        letter = StoredLetter.from_record(record)
        why_not = _replayable(letter)
        if why_not is not None:
            results[letter_id] = {"id": letter_id, "status": "not_replayable",
                                  "detail": why_not}
        else:
            letters[letter_id] = letter
    sources = await fetch(bootstrap, settings.topics.raw, {
        (int(s.source.get("partition", -1)), int(s.source.get("offset", -1)))
        for s in letters.values()})
    store = replay_log()
    claimed: list[tuple[str, dict[str, Any] | None]] = []
    messages = []
    for letter_id, letter in letters.items():
        ok, earlier = await store.claim(letter_id, who, now, force=force)
        if not ok:
            seen = _replay_json(earlier) or {}
            results[letter_id] = {"id": letter_id, "status": "already_replayed",
                                  "detail": f"already replayed by {seen.get('last_by')} at "
                                            f"{seen.get('last_at')} ({seen.get('count')}x); "
                                            "force to replay again",
                                  "replays": seen.get("count", 0)}
            continue
        claimed.append((letter_id, earlier))
        original = original_from_doc(letter.doc)
        source = sources.get((int(letter.source.get("partition", -1)),
                              int(letter.source.get("offset", -1))))
        messages.append((settings.topics.raw, source.key if source is not None else None,
                         original, replay_headers(source, original, letter_id)))
    try:
        sent = await produce(bootstrap, messages) if messages else []
    except Exception:
        for letter_id, before in claimed:
            await store.release(letter_id, before)
        raise
    for (letter_id, before), (partition, offset) in zip(claimed, sent, strict=True):
        target = {"topic": settings.topics.raw, "partition": partition, "offset": offset}
        await store.done(letter_id, target)
        count = 1 + (int(before.get("count", 0)) if before else 0)
        log.info("dead letter %s replayed to %s by %s (replay %d)", letter_id, target, who,
                 count)
        results[letter_id] = {"id": letter_id, "status": "replayed", "target": target,
                              "replays": count,
                              "detail": f"replayed to {settings.topics.raw} "
                                        f"[{partition}] @{offset}"
                                        + (f" (replay {count})" if count > 1 else "")}
    return [results[i] for i in dict.fromkeys(ids)]


def _filters(query: Any) -> tuple[str, str, int] | str:
    try:
        limit = int(query.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        return "limit"
    if not 1 <= limit <= MAX_LIMIT:
        return "limit"
    stage, reason = query.get("stage", ""), query.get("reason", "")
    if len(stage) > 100:
        return "stage"
    if len(reason) > 100:
        return "reason"
    return stage, reason, limit


@app.page("/api/v1/dlq")
class DlqApi(View):
    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.ADMIN)
        if isinstance(denied, aioweb.Response):
            return denied
        filters = _filters(request.query)
        if isinstance(filters, str):
            return bad_param(filters, f"limit 1 to {MAX_LIMIT}; stage, reason up to 100 characters")
        try:
            letters, counts, scanned = await recent_letters(*filters)
        except Exception as exc:
            log.warning("dlq: reading failed: %r", exc)
            return problem(503, "Service Unavailable", f"reading the dead letters failed: {exc}")
        return ok_json({"letters": letters, "counts": counts, "scanned": scanned})


@app.page("/api/v1/dlq/replay")
class ReplayApi(View):
    async def post(self, request: Request) -> aioweb.Response:
        principal = await authenticate(request, Scope.ADMIN)
        if isinstance(principal, aioweb.Response):
            return principal
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return bad_param("body", "a JSON object")
        if not isinstance(body, dict):
            return bad_param("body", "a JSON object")
        ids, force = body.get("ids"), body.get("force", False)
        if (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_REPLAY
                or not all(isinstance(i, str) for i in ids)):
            return bad_param("ids", f"1 to {MAX_REPLAY} dead-letter ids (<partition>-<offset>)")
        if not isinstance(force, bool):
            return bad_param("force", "true or false")
        try:
            results = await replay(ids, principal, force)
        except Exception as exc:
            log.warning("dlq: replay failed: %r", exc)
            return problem(503, "Service Unavailable", f"replay failed: {exc}")
        return ok_json({"results": results,
                      "replayed": sum(r["status"] == "replayed" for r in results)})


@app.page("/dlq")
class DlqPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.ADMIN)
        filters = _filters(request.query)
        stage, reason, limit = filters if not isinstance(filters, str) else (
            "", "", DEFAULT_LIMIT)
        problems = [f"invalid {filters}"] if isinstance(filters, str) else []
        letters: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        scanned = 0
        try:
            letters, counts, scanned = await recent_letters(stage, reason, limit)
        except Exception as exc:
            log.warning("dlq page: reading failed: %r", exc)
            problems.append(f"the dead letters are not available: {exc}")
        context = {"letters": letters, "counts": counts, "scanned": scanned, "scan": SCAN,
                   "stage": stage, "reason": reason, "limit": limit, "problems": problems,
                   "topic": settings.topics.dlq, "raw_topic": settings.topics.raw,
                   "notice": request.query.get("done", ""),
                   "form_error": request.query.get("error", "")}
        return render(request, "dlq.html", context, active="pipeline")


@app.page("/dlq/replay")
class ReplayForm(View):
    """The page's replay form (CSRF checked by ``web.auth``); answers with a redirect."""

    async def post(self, request: Request) -> aioweb.Response:
        principal = require(request, Role.ADMIN)
        form = await request.post()
        ids = [str(v) for v in form.getall("id", [])][:MAX_REPLAY]  # type: ignore[attr-defined]
        if not ids:
            raise aioweb.HTTPSeeOther("/dlq?" + urlencode({"error": "select dead letters"}))
        results = await replay(ids, principal, form.get("force") == "1")
        notice = "; ".join(f"{r['id']}: {r['status'].replace('_', ' ')} — {r['detail']}"
                           for r in results)
        raise aioweb.HTTPSeeOther("/dlq?" + urlencode({"done": notice[:1500]}))


_letter_schema = {
    "type": "object",
    "required": ["id", "partition", "offset", "stage", "reason", "original", "source",
                 "replayable"],
    "properties": {
        "id": {"type": "string"}, "partition": {"type": "integer"},
        "offset": {"type": "integer"}, "at": {"type": "string"},
        "stage": {"type": "string"}, "reason": {"type": "string"},
        "error": {"type": "string"}, "parser": {"type": "string", "nullable": True},
        "original": {"type": "string"}, "original_encoding": {"enum": ["utf-8", "base64"]},
        "original_size": {"type": "integer"}, "original_truncated": {"type": "boolean"},
        "source": {"type": "object"}, "first_seen": {"type": "string", "nullable": True},
        "replayable": {"type": "boolean"},
        "not_replayable_because": {"type": "string", "nullable": True},
        "replay": {"type": "object", "nullable": True},
    },
}
register("/api/v1/dlq", "get", {
    "summary": "Recent dead letters from the dead-letter topic, newest first (admin)",
    "parameters": [
        query_param("stage", {"type": "string", "maxLength": 100}, "e.g. parse"),
        query_param("reason", {"type": "string", "maxLength": 100}, "e.g. malformed_json"),
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    ],
    "responses": {"200": json_response({
        "type": "object", "required": ["letters", "counts", "scanned"],
        "properties": {"letters": {"type": "array", "items": _letter_schema},
                       "counts": {"type": "object",
                                  "additionalProperties": {"type": "integer"}},
                       "scanned": {"type": "integer"}}}),
    } | problem_responses(400, 503),
})
register("/api/v1/dlq/replay", "post", {
    "summary": "Replay dead letters to their source topic (admin); a letter replayed "
               "before is refused unless force is true",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["ids"],
        "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": MAX_REPLAY,
                               "items": {"type": "string"},
                               "description": "<partition>-<offset> in the dead-letter topic"},
                       "force": {"type": "boolean"}}}}}},
    "responses": {"200": json_response({
        "type": "object", "required": ["results", "replayed"],
        "properties": {
            "replayed": {"type": "integer"},
            "results": {"type": "array", "items": {
                "type": "object", "required": ["id", "status", "detail"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"enum": ["replayed", "already_replayed", "missing",
                                        "not_replayable", "invalid"]},
                    "detail": {"type": "string"}, "replays": {"type": "integer"},
                    "target": {"type": "object"}}}}}}),
    } | problem_responses(400, 503),
})
