"""Per-process clients the web views share, created on first use, closed at shutdown."""

from __future__ import annotations

from typing import Any

from app.adapters.tokens import MongoTokenStore
from app.faust_app import app, settings

_token_store: MongoTokenStore | None = None


def token_store() -> MongoTokenStore:
    global _token_store
    if _token_store is None:
        _token_store = MongoTokenStore(settings.mongo.url, settings.mongo.database)
    return _token_store


@app.on_before_shutdown.connect  # type: ignore[arg-type]  # mypy: union of callables
async def _close_clients(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
    global _token_store
    if _token_store is not None:
        await _token_store.close()
        _token_store = None
