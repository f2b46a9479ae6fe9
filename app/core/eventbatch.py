"""The wire form of ``logs.events``: a JSON array of canonical events of one service."""

from __future__ import annotations

from typing import Any

import orjson

from app.core.errors import DecodeError, Reason


def decode_event_batch(value: bytes) -> list[dict[str, Any]]:
    """Events of one ``logs.events`` message (an array, or one object from a plain producer)."""
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(Reason.MALFORMED_JSON, f"logs.events value: {exc}") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    for item in items:
        if not isinstance(item, dict):
            raise DecodeError(Reason.NOT_AN_OBJECT,
                              f"logs.events item is {type(item).__name__}, not an object")
        if not isinstance(item.get("event_id"), str) or not isinstance(item.get("ts"), str):
            raise DecodeError(Reason.BAD_FIELD, "logs.events item lacks event_id or ts")
    return items
