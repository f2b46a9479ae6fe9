"""Enrichment: what can be derived from a parsed event, added in place (DESIGN.md §3).

Pure code: no I/O, no clock reads. ``registry.build_pipeline`` builds the configured
enrichers in order; ``base.EnrichmentPipeline.run`` raises only ``EnrichmentError``.
"""
