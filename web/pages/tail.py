"""``/tail`` (the live-tail page) and ``/tail/ws`` (its WebSocket).

The socket's query (``?q=``, the search language) becomes a predicate on this node;
events come from the process's one Redis subscription (``TailHub``), are filtered per
client and capped at ``dashboard.tail_client_rate`` per second (the rest is counted and
reported as ``dropped``). Messages to the browser::

    {"type": "ready", "query": "..."}          subscribed; events follow
    {"type": "events", "events": [...]}         matching events, oldest first
    {"type": "stats", "dropped": n, "paused": b} now and then when something was dropped
    {"type": "error", "message": "..."}         a bad query (the socket then closes)

The browser sends ``{"type": "pause"}`` / ``{"type": "resume"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType
from aiohttp import web as aioweb
from faust.web import Request, View

from app.adapters.tail_bus import Listener, RateCap, sample
from app.core.query import Predicate, QueryError, compile_predicate
from app.faust_app import app, settings
from web.auth import Forbidden, Role, require
from web.pages.clients import tail_hub
from web.pages.setup import render

log = logging.getLogger(__name__)
SUBSCRIBE_TIMEOUT_S = 5.0
STATS_EVERY_S = 2.0


@app.page("/tail")
class TailPage(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.VIEWER)
        return render(request, "tail.html",
                      {"q": request.query.get("q", ""),
                       "client_rate": settings.dashboard.tail_client_rate},
                      active="tail")


def same_origin(request: Any) -> bool:
    """A browser's WebSocket handshake must come from this site (no cross-site hijack)."""
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser: authenticated by token or cookie like any request
        return True
    return bool(urlsplit(origin).netloc.lower() == str(request.host).lower())


@app.page("/tail/ws")
class TailSocket(View):
    async def get(self, faust_request: Request) -> aioweb.StreamResponse:
        request = cast(aioweb.Request, faust_request)
        require(request, Role.VIEWER)
        if not same_origin(request):
            raise Forbidden(request, "cross-site WebSocket connection refused")
        ws = aioweb.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
        await ws.prepare(request)
        text = request.query.get("q", "")
        try:
            matches = compile_predicate(text, time.time())
        except QueryError as exc:
            await ws.send_json({"type": "error", "message": str(exc), "column": exc.column})
            await ws.close()
            return ws
        try:
            listener = await asyncio.wait_for(tail_hub().listen(), SUBSCRIBE_TIMEOUT_S)
        except (TimeoutError, Exception) as exc:
            log.warning("live tail: subscribing failed: %s", exc)
            await ws.send_json({"type": "error",
                                "message": "the live tail is not available right now"})
            await ws.close()
            return ws
        try:
            await ws.send_json({"type": "ready", "query": text})
            await _pump(ws, listener, matches)
        finally:
            await listener.close()
            if not ws.closed:
                await ws.close()
        return ws


async def _pump(ws: aioweb.WebSocketResponse, listener: Listener, matches: Predicate) -> None:
    state = {"paused": False}
    reader = asyncio.create_task(_read_controls(ws, state))
    cap = RateCap(settings.dashboard.tail_client_rate)
    dropped, reported, last_stats = 0, 0, time.monotonic()
    try:
        while not ws.closed and not reader.done():
            getter = asyncio.ensure_future(listener.get())
            await asyncio.wait({getter, reader}, timeout=STATS_EVERY_S,
                               return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                batch: list[dict[str, Any]] = []
            else:
                batch = getter.result()
            now = time.monotonic()
            chosen = [doc for doc in batch if _safe(matches, doc)]
            if state["paused"]:
                dropped += len(chosen)
                chosen = []
            allowed = cap.take(len(chosen), now)
            dropped += len(chosen) - allowed
            if allowed:
                await ws.send_str(orjson.dumps(
                    {"type": "events", "events": sample(chosen, allowed)}).decode())
            total_dropped = dropped + listener.dropped
            if total_dropped != reported and now - last_stats >= STATS_EVERY_S:
                await ws.send_json({"type": "stats", "dropped": total_dropped,
                                    "paused": state["paused"]})
                reported, last_stats = total_dropped, now
    except (ConnectionResetError, RuntimeError):
        pass  # the browser went away
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


def _safe(matches: Predicate, doc: dict[str, Any]) -> bool:
    try:
        return matches(doc)
    except Exception:  # a predicate bug must not end the stream
        return False


async def _read_controls(ws: aioweb.WebSocketResponse, state: dict[str, bool]) -> None:
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            command = orjson.loads(message.data)
        except orjson.JSONDecodeError:
            continue
        kind = command.get("type") if isinstance(command, dict) else None
        if kind == "pause":
            state["paused"] = True
        elif kind == "resume":
            state["paused"] = False
