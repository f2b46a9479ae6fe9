"""``POST /api/v1/logs``: the HTTP ingest gateway.

Authenticated by an API token with the ``ingest`` scope. Answers 202 only after Kafka
acknowledged every record; the body lists the records that will be dead-lettered and
why (the same core the parse agent runs decides it).
"""

from __future__ import annotations

import asyncio
import time

import orjson
from aiohttp import web as aioweb
from faust.web import Request, Response, View

from app import wiring
from app.core.gateway import BodyError, batches, predict, split_body
from app.core.ingest import BATCH_HEADER, FORMAT_HEADER, SERVICE_HEADER
from app.core.tokens import Scope
from app.faust_app import app, raw_topic, settings
from app.metrics import RECORDS_IN
from web.deps import authenticate, problem

_detector = wiring.detector(settings)
_enrich = wiring.enrichment(settings).run  # service metadata is the worker's business


@app.page("/api/v1/logs")
class IngestView(View):
    async def post(self, faust_request: Request) -> Response | aioweb.Response:
        request: aioweb.Request = faust_request  # type: ignore[assignment]  # aiohttp's
        record = await authenticate(request, Scope.INGEST)
        if isinstance(record, aioweb.Response):
            return record

        limit = settings.ingest.max_request_bytes
        if (request.content_length or 0) > limit:
            return problem(413, "Payload Too Large", f"the body limit is {limit} bytes")
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            return problem(413, "Payload Too Large", f"the body limit is {limit} bytes")

        query = request.query
        declared = query.get("format") or request.headers.get("X-Log-Format") or None
        service = query.get("service") or request.headers.get("X-Log-Service") or None
        source = query.get("source") or record.name
        try:
            records = split_body(body, request.content_type or "application/octet-stream")
        except BodyError as exc:
            title = "Unsupported Media Type" if exc.status == 415 else "Bad Request"
            return problem(exc.status, title, str(exc))
        if declared and declared not in _detector.catalog:
            known = ", ".join(_detector.formats)
            return problem(400, "Bad Request", f"unknown format {declared!r} (known: {known})")

        ingest = settings.ingest
        verdicts = predict(records, _detector, wiring.ingest_limits(settings),
                           declared=declared, service=service, now=time.time(),
                           enrich=_enrich, source=source)
        headers = [(BATCH_HEADER, b"json"), ("source_type", b"http")]
        if declared:
            headers.append((FORMAT_HEADER, declared.encode()))
        if service:
            headers.append((SERVICE_HEADER, service.encode()))
        texts = [r for _, r in records if isinstance(r, str)]
        futures = [
            await raw_topic.send(key=source.encode(), value=orjson.dumps(chunk),
                                 headers=headers)
            for chunk in batches(texts, ingest.max_batch_records, ingest.gateway_batch_bytes)
        ]
        single = [(SERVICE_HEADER, service.encode())] if service else []
        futures += [await raw_topic.send(key=source.encode(), value=r, headers=single)
                    for _, r in records if isinstance(r, bytes)]
        try:
            await asyncio.gather(*futures)
        except Exception as exc:  # Kafka did not acknowledge: the client must retry
            return problem(503, "Service Unavailable", f"Kafka did not acknowledge: {exc}")
        RECORDS_IN.labels("gateway").inc(len(records))
        rejected = [{"index": v.index, "stage": v.stage, "reason": v.reason, "error": v.error}
                    for v in verdicts]
        payload = {"records": len(records), "accepted": len(records) - len(rejected),
                   "dead_lettered": rejected}
        return aioweb.Response(body=orjson.dumps(payload), status=202,
                               content_type="application/json")
