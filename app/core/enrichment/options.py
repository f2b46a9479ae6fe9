"""Validated reading of one enricher's options (a plain mapping from the settings file).

Every enricher reads its options through ``Options`` and calls ``done()`` last, so a
misspelt option fails at start-up with a message naming the enricher and the key,
instead of being silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class Options:
    def __init__(self, enricher: str, options: Mapping[str, Any] | None) -> None:
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(f"enricher {enricher!r}: options must be a mapping, "
                             f"got {type(options).__name__}")
        self.enricher = enricher
        self._options: Mapping[str, Any] = options or {}
        self._read: set[str] = set()

    def get(self, key: str, kind: type[T], default: T) -> T:
        """The option ``key``, checked to be a ``kind``; ``default`` when absent."""
        self._read.add(key)
        if key not in self._options:
            return default
        value = self._options[key]
        # bool is an int subclass: refuse True where a number is expected
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ValueError(f"enricher {self.enricher!r}: option {key!r} must be "
                             f"{kind.__name__}, got {type(value).__name__}")
        return value

    def positive_int(self, key: str, default: int) -> int:
        value = self.get(key, int, default)
        if value < 1:
            raise ValueError(f"enricher {self.enricher!r}: option {key!r} must be >= 1, "
                             f"got {value}")
        return value

    def raw(self, key: str, default: Any = None) -> Any:
        """The option ``key`` unchecked (the caller validates its shape)."""
        self._read.add(key)
        return self._options.get(key, default)

    def done(self) -> None:
        """Reject options nobody read (most likely a typo)."""
        unknown = sorted(set(self._options) - self._read)
        if unknown:
            raise ValueError(f"enricher {self.enricher!r}: unknown option(s) "
                             f"{', '.join(map(repr, unknown))}; known: "
                             f"{', '.join(sorted(self._read)) or 'none'}")
