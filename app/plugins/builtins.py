"""Adapters from logwarden's own components to the extension contracts (entry-point targets)."""

from __future__ import annotations

from app.adapters.elasticsearch import ElasticsearchSink
from app.settings import Settings


def elasticsearch_sink(settings: Settings) -> ElasticsearchSink:
    """The ``elasticsearch`` sink: ``_bulk`` into the daily indices of ``settings``."""
    return ElasticsearchSink(settings.elasticsearch)
