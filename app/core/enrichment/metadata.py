"""``service_meta``: who owns the service an event came from (team, owner, tier, env).

A pure lookup in the snapshot a ``ServiceDirectory`` holds. The snapshot is loaded and
swapped by an adapter (``app.adapters.service_registry``, MongoDB) so operators' edits
apply without a restart; ``replace`` swaps it in one assignment, so a reader sees the
old or the new snapshot, never a mix. Sets ``event.service_meta`` (team, owner, tier)
and ``event.env`` when the event has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from app.core.enrichment.options import Options
from app.core.events import LogEvent

META_FIELDS = ("team", "owner", "tier")


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    service: str
    team: str | None = None
    owner: str | None = None
    tier: str | None = None
    env: str | None = None
    updated_at: float | None = None  # epoch seconds of the last edit, if known

    def meta(self) -> dict[str, str]:
        """The ``service_meta`` of this service's events."""
        return {key: value for key in META_FIELDS if (value := getattr(self, key))}


class ServiceDirectory:
    """The current service metadata snapshot; replaced whole, never edited in place."""

    __slots__ = ("_state",)

    def __init__(self, snapshot: Mapping[str, ServiceInfo] | None = None) -> None:
        self._state: tuple[Mapping[str, ServiceInfo],
                           Mapping[str, tuple[dict[str, str], str | None]]]
        self.replace(snapshot or {})

    def replace(self, snapshot: Mapping[str, ServiceInfo]) -> None:
        """Swap in a new snapshot (copied, so later edits of ``snapshot`` don't leak in)."""
        frozen = MappingProxyType(dict(snapshot))
        meta = {name: (info.meta(), info.env) for name, info in frozen.items()}
        # a single attribute store: a reader never pairs an old and a new view
        self._state = (frozen, meta)

    @property
    def snapshot(self) -> Mapping[str, ServiceInfo]:
        return self._state[0]

    def get(self, service: str) -> ServiceInfo | None:
        return self._state[0].get(service)

    def lookup(self, service: str) -> tuple[dict[str, str], str | None] | None:
        """``(service_meta, env)`` of ``service``; the dict is shared, copy before editing."""
        return self._state[1].get(service)

    def __len__(self) -> int:
        return len(self._state[0])


class ServiceMetaEnricher:
    name = "service_meta"
    # enrich()'s returns, negated (see base.py): a str service the snapshot lacks
    runs_if = "type(event.service) is not str or event.service in self.directory._state[1]"

    def __init__(self, directory: ServiceDirectory | None = None) -> None:
        self.directory = directory if directory is not None else ServiceDirectory()

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> ServiceMetaEnricher:
        opts = Options(cls.name, options)
        directory = opts.raw("directory")
        if directory is not None and not isinstance(directory, ServiceDirectory):
            raise ValueError("enricher 'service_meta': option 'directory' must be a "
                             f"ServiceDirectory, got {type(directory).__name__}")
        opts.done()
        return cls(directory)

    def enrich(self, event: LogEvent) -> None:
        service = event.service
        if type(service) is not str and not isinstance(service, str):
            return
        found = self.directory._state[1].get(service)  # lookup() inlined: every event
        if found is None:
            return
        meta, env = found
        if meta:
            event.service_meta = dict(meta)
        if env and not event.env:
            event.env = env
