"""The pages' shared clients (search backend, short cache, live-tail hub), closed at shutdown."""

from __future__ import annotations

import logging
from typing import Any

from app.adapters.search import SearchBackend, ShortCache
from app.adapters.tail_bus import TailHub, tail_channel
from app.faust_app import app, settings

log = logging.getLogger(__name__)

_search: SearchBackend | None = None
_cache: ShortCache | None = None
_hub: TailHub | None = None


def search_backend() -> SearchBackend:
    global _search
    if _search is None:
        es = settings.elasticsearch
        _search = SearchBackend(es.url, es.index_prefix)
    return _search


def short_cache() -> ShortCache:
    global _cache
    if _cache is None:
        _cache = ShortCache(settings.redis.url,
                            prefix=f"lw:dash:{settings.elasticsearch.index_prefix}")
    return _cache


def tail_hub() -> TailHub:
    global _hub
    if _hub is None:
        _hub = TailHub(settings.redis.url, tail_channel(settings.topics.events))
    return _hub


@app.on_before_shutdown.connect  # type: ignore[arg-type]  # mypy: union of callables
async def _close(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
    global _search, _cache, _hub
    clients: list[SearchBackend | ShortCache | TailHub | None] = [_search, _cache, _hub]
    _search = _cache = _hub = None
    for client in clients:
        if client is not None:
            try:
                await client.close()
            except Exception as exc:  # keep closing the others
                log.warning("closing %s failed: %s", type(client).__name__, exc)
