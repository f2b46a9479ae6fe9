"""Durations in rule files: ``30s``, ``5m``, ``1h``, ``7d``, ``250ms`` or plain seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> float:
    """Seconds of ``value``; ``ValueError`` says what a duration looks like."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 30s, 5m, 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text and _PART.sub("", text) == "":
            return sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            if seconds >= 0:
                return seconds
    raise ValueError(f"not a duration: {value!r} (use seconds or text like 30s, 5m, 1h30m)")


def format_duration(seconds: float) -> str:
    """``3725`` -> ``1h2m5s`` (for messages)."""
    whole = round(seconds)
    if whole <= 0:
        return f"{seconds:g}s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            out += f"{count}{unit}"
    return out


def positive_duration(value: object) -> float:
    """A duration that must be longer than 0 s (windows, spans, quiet periods)."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds
