"""The built-in enrichers by name, and building a pipeline from settings.

Settings name the enrichers in order and give each its options::

    enrichment:
      enrichers: [service, service_meta, extract, severity, http, useragent, geoip, template]
      config:
        severity: {http_404_is_warn: false}
        http: {cache_size: 10000}
        service: {sources: {edge-1: gateway}, host_patterns: [['^(?P<svc>[a-z-]+)-\\d+$', '{svc}']]}
        template: {store_template: true}

``service_meta`` takes the ``ServiceDirectory`` the registry adapter refreshes:
``config["service_meta"] = {"directory": directory}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.core.enrichment.base import Enricher, EnrichmentPipeline
from app.core.enrichment.extract import ExtractEnricher
from app.core.enrichment.geoip import GeoIpEnricher
from app.core.enrichment.http import HttpEnricher
from app.core.enrichment.metadata import ServiceMetaEnricher
from app.core.enrichment.service import ServiceEnricher
from app.core.enrichment.severity import SeverityEnricher
from app.core.enrichment.template import TemplateEnricher
from app.core.enrichment.useragent import UserAgentEnricher

EnricherFactory = Callable[[Mapping[str, Any] | None], Enricher]

# Order matters: the service name first (metadata and user extractors select by it),
# extraction before geoip (it finds source_ip) and before http (an nginx error line
# yields a request path to template), severity after extraction.
DEFAULT_ENRICHERS: tuple[str, ...] = (
    "service", "service_meta", "extract", "severity", "http", "useragent", "geoip",
    "template",
)


def builtin_enrichers() -> dict[str, EnricherFactory]:
    """Name → factory taking that enricher's options mapping (or None)."""
    return {
        ServiceEnricher.name: ServiceEnricher.from_config,
        ServiceMetaEnricher.name: ServiceMetaEnricher.from_config,
        ExtractEnricher.name: ExtractEnricher.from_config,
        SeverityEnricher.name: SeverityEnricher.from_config,
        HttpEnricher.name: HttpEnricher.from_config,
        UserAgentEnricher.name: UserAgentEnricher.from_config,
        GeoIpEnricher.name: GeoIpEnricher.from_config,
        TemplateEnricher.name: TemplateEnricher.from_config,
    }


def _check_names(names: Sequence[str], config: Mapping[str, Any],
                 known: Mapping[str, object]) -> None:
    if isinstance(names, str):
        raise ValueError("enricher names must be a list, not a string")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown enricher(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(known))}")
    stray = sorted(set(config) - set(names))
    if stray:
        raise ValueError(f"options given for enricher(s) not in the pipeline: "
                         f"{', '.join(map(repr, stray))}")


def build_pipeline(names: Sequence[str] = DEFAULT_ENRICHERS,
                   config: Mapping[str, Any] | None = None, *,
                   factories: Mapping[str, EnricherFactory] | None = None
                   ) -> EnrichmentPipeline:
    """The enrichers ``names``, in that order, each built from ``config[name]``.

    Raises ``ValueError`` for an unknown enricher name, options given for an enricher
    that is not in ``names`` (a typo would otherwise be silently ignored), or an invalid
    option. ``factories`` replaces the built-ins (tests, plug-ins).
    """
    known = dict(builtin_enrichers() if factories is None else factories)
    config = config or {}
    _check_names(names, config, known)
    return EnrichmentPipeline([known[name](config.get(name)) for name in names])


def check_pipeline(names: Sequence[str] = DEFAULT_ENRICHERS,
                   config: Mapping[str, Any] | None = None, *,
                   factories: Mapping[str, EnricherFactory] | None = None) -> None:
    """Raise the ``ValueError`` ``build_pipeline`` would, without loading the GeoIP
    database or compiling the UA regexes (~0.2 s and ~30 MB): for settings validation.
    ``factories`` replaces the built-ins (the registered enrichers)."""
    known = dict(builtin_enrichers() if factories is None else factories)
    config = config or {}
    _check_names(names, config, known)
    light = {GeoIpEnricher.name: GeoIpEnricher.check_config,
             UserAgentEnricher.name: UserAgentEnricher.check_config}
    builtins = builtin_enrichers()
    for name in names:
        # the light checks fit the built-in enrichers only, not a plugin of the same name
        check = light.get(name) if known[name] == builtins.get(name) else None
        if check is not None:
            check(config.get(name))
        else:
            known[name](config.get(name))
