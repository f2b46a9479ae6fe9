"""One registry for every extension point, fed by entry-point groups.

Every parser, enricher, agent, rule type, notifier and sink is an entry point in one of
the groups below. logwarden's own built-ins are declared in its ``pyproject.toml`` under
the same groups as third-party plugins, so both take one path::

    [project.entry-points."logwarden.parsers"]
    cef = "logwarden_security.parser:cef_parser"

Discovery (``importlib.metadata``) only reads metadata: nothing is imported until an
extension is loaded. Two distributions registering the same name in one group is an
installation error, raised at discovery (``DuplicateExtension`` names both). An
extension that fails to import is recorded with its distribution and error, left out,
and reported (``logwarden plugins list``, the worker log); with ``plugins.strict`` the
worker refuses to start instead (``check``).

The pure core never sees this module: it receives plain name → factory mappings
(``ParserCatalog(factories=...)``, ``build_pipeline(factories=...)``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Any

from app.core.errors import ConfigError

log = logging.getLogger(__name__)

#: extension kind -> entry-point group
GROUPS: dict[str, str] = {
    "agents": "logwarden.agents",
    "parsers": "logwarden.parsers",
    "enrichers": "logwarden.enrichers",
    "rule_types": "logwarden.rule_types",
    "notifiers": "logwarden.notifiers",
    "sinks": "logwarden.sinks",
}
_KIND_OF_GROUP = {group: kind for kind, group in GROUPS.items()}
_UNLOADED: Any = object()


class PluginError(ConfigError):
    """The installed plugin set cannot be used (raised at start-up)."""


class DuplicateExtension(PluginError):
    """Two distributions registered the same name in one group."""


class PluginLoadFailed(PluginError):
    """Extensions failed to import and ``plugins.strict`` is set."""


@dataclass(eq=False)
class Extension:
    """One entry point: where it comes from, what it names, and (once loaded) the object."""

    kind: str  # agents, parsers, ... (a key of GROUPS)
    name: str
    target: str  # "package.module:attr" or "package.module"
    dist: str  # the distribution (package) that declares it
    version: str
    error: str | None = None  # "ImportError: ..." once loading failed
    _obj: Any = field(default=_UNLOADED, repr=False)

    @property
    def group(self) -> str:
        return GROUPS[self.kind]

    @property
    def origin(self) -> str:
        return f"{self.dist} {self.version}"

    @property
    def loaded(self) -> bool:
        return self._obj is not _UNLOADED

    def load(self) -> Any:
        """Import the target (once); on failure record the error and re-raise it."""
        if self._obj is not _UNLOADED:
            return self._obj
        if self.error is not None:
            raise PluginLoadFailed(self.describe_failure())
        module, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in filter(None, attr.split(".")):
                obj = getattr(obj, part)
        except Exception as exc:  # any import-time error of third-party code
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("%s", self.describe_failure())
            raise PluginLoadFailed(self.describe_failure()) from exc
        self._obj = obj
        return obj

    def describe_failure(self) -> str:
        return (f"{self.group} extension {self.name!r} from {self.origin} "
                f"({self.target}) failed to load: {self.error}")


class PluginRegistry:
    """Every extension of every group; duplicate names rejected on construction."""

    def __init__(self, extensions: Iterable[Extension]) -> None:
        self._by_kind: dict[str, dict[str, Extension]] = {kind: {} for kind in GROUPS}
        for ext in extensions:
            taken = self._by_kind[ext.kind].get(ext.name)
            if taken is not None:
                raise DuplicateExtension(
                    f"{ext.group}: the name {ext.name!r} is registered twice, by "
                    f"{taken.origin} ({taken.target}) and by {ext.origin} ({ext.target}); "
                    f"uninstall one of the two packages or rename the extension")
            self._by_kind[ext.kind][ext.name] = ext

    @classmethod
    def discover(cls) -> PluginRegistry:
        """The registry of every installed distribution's ``logwarden.*`` entry points."""
        found: list[Extension] = []
        for group, kind in _KIND_OF_GROUP.items():
            for ep in metadata.entry_points(group=group):
                dist = ep.dist
                found.append(Extension(
                    kind=kind, name=ep.name, target=ep.value,
                    dist=dist.name if dist is not None else "?",
                    version=dist.version if dist is not None else "?"))
        return cls(found)

    def extensions(self, kind: str | None = None) -> list[Extension]:
        kinds = GROUPS if kind is None else (kind,)
        return [ext for k in kinds for _, ext in sorted(self._by_kind[k].items())]

    def names(self, kind: str) -> list[str]:
        return sorted(self._by_kind[kind])

    def get(self, kind: str, name: str) -> Extension | None:
        return self._by_kind[kind].get(name)

    def load_all(self, kind: str) -> dict[str, Any]:
        """Name -> object of every extension of ``kind`` that loads; failures recorded."""
        out: dict[str, Any] = {}
        for ext in self.extensions(kind):
            try:
                out[ext.name] = ext.load()
            except PluginLoadFailed:
                continue
        return out

    def failures(self, kind: str | None = None) -> list[Extension]:
        return [ext for ext in self.extensions(kind) if ext.error is not None]

    def check(self, *, strict: bool) -> None:
        """Raise ``PluginLoadFailed`` listing failures when ``strict``; else log them."""
        failed = self.failures()
        if not failed:
            return
        lines = [ext.describe_failure() for ext in failed]
        if strict:
            raise PluginLoadFailed("plugins.strict is set and plugins failed to load:\n  "
                                   + "\n  ".join(lines))
        for line in lines:
            log.warning("%s (left out; set plugins.strict to refuse to start)", line)

    def feed(self, kind: str, register: Any) -> list[str]:
        """Call ``register(name, obj)`` for every loadable extension of ``kind``.

        For registries owned by other modules (``register_rule_type``...): they receive
        registrations and never read entry points themselves. An extension the target
        registry refuses (``TypeError``/``ValueError``) is recorded as failed, like an
        import error. Returns the names registered.
        """
        fed = []
        for name, obj in self.load_all(kind).items():
            ext = self._by_kind[kind][name]
            try:
                register(name, obj)
            except (TypeError, ValueError) as exc:
                ext.error = f"refused by the {kind} registry: {type(exc).__name__}: {exc}"
                log.error("%s", ext.describe_failure())
                continue
            fed.append(name)
        return fed


@lru_cache(maxsize=1)
def registry() -> PluginRegistry:
    """The process-wide registry (discovered on first use)."""
    return PluginRegistry.discover()


def failed_names(kind: str) -> str:
    """``name (origin: error)`` of every failed extension of ``kind``, for error hints."""
    return "; ".join(f"{ext.name} ({ext.origin}: {ext.error})"
                     for ext in registry().failures(kind))


__all__ = ["GROUPS", "DuplicateExtension", "Extension", "PluginError", "PluginLoadFailed",
           "PluginRegistry", "registry"]
