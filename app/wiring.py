"""Settings to core objects: the parser catalog, the enrichment pipeline, ingest limits.

Parsers and enrichers come from the plugin registry (``logwarden.parsers`` and
``logwarden.enrichers`` entry points: the built-ins and any installed plugin).

One place turns configuration into the pure core's objects, so the worker, the
gateway, ``logwarden parse`` and the benchmarks all parse and enrich the same way.
"""

from __future__ import annotations

from app.core.enrichment.base import EnrichmentPipeline
from app.core.enrichment.metadata import ServiceDirectory
from app.core.enrichment.registry import build_pipeline
from app.core.ingest import IngestLimits
from app.core.parsing import FormatDetector
from app.core.parsing.catalog import ParserCatalog, PatternDef, SourceRule
from app.plugins import registry
from app.settings import Settings


def parser_catalog(settings: Settings) -> ParserCatalog:
    p = settings.parsing
    return ParserCatalog(
        [PatternDef(name, d.regex, d.timestamp_format, d.timezone, tuple(d.field_map.items()))
         for name, d in p.patterns.items()],
        [SourceRule(s.match, s.format, s.service, s.timezone) for s in p.sources],
        p.default_timezone, factories=registry().load_all("parsers"))


def detector(settings: Settings) -> FormatDetector:
    return FormatDetector(parser_catalog(settings))


def enrichment(settings: Settings, directory: ServiceDirectory | None = None
               ) -> EnrichmentPipeline:
    """The configured enrichers; ``directory`` feeds ``service_meta`` (refreshed elsewhere)."""
    config = {name: dict(options) for name, options in settings.enrichment.config.items()}
    if directory is not None and "service_meta" in settings.enrichment.enrichers:
        config.setdefault("service_meta", {})["directory"] = directory
    return build_pipeline(settings.enrichment.enrichers, config,
                          factories=registry().load_all("enrichers"))


def ingest_limits(settings: Settings) -> IngestLimits:
    i = settings.ingest
    return IngestLimits(max_record_bytes=i.max_record_bytes,
                        max_batch_records=i.max_batch_records, max_json_depth=i.max_json_depth)
