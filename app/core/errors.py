"""Typed errors of the core. Every failure a record can meet has a reason code."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Closed set of dead-letter reason codes (also a Prometheus label: keep it closed)."""

    UNDECODABLE = "undecodable"  # bytes are not UTF-8 text
    OVERSIZED = "oversized"  # record longer than the configured limit
    EMPTY = "empty"  # nothing but whitespace
    MALFORMED_JSON = "malformed_json"  # looked like / declared JSON, did not parse
    JSON_TOO_DEEP = "json_too_deep"  # nesting deeper than the configured limit
    NOT_AN_OBJECT = "not_an_object"  # valid JSON, but not an object
    FORMAT_MISMATCH = "format_mismatch"  # line does not match its declared format
    UNKNOWN_FORMAT = "unknown_format"  # declared format is not registered
    BAD_FIELD = "bad_field"  # a field has a value of the wrong type or range
    BATCH_TOO_LARGE = "batch_too_large"  # too many records in one batch message
    INDEX_REJECTED = "index_rejected"  # the search index refused the document
    ENRICHMENT_FAILED = "enrichment_failed"  # an enricher raised on this event
    RULE_FAILED = "rule_failed"  # an alert rule raised while evaluating (template, config)


class LogwardenError(Exception):
    """Root of every error logwarden raises on purpose."""


class ProcessorError(LogwardenError):
    """A record could not be processed; it belongs in the dead-letter topic."""

    stage: str = "process"

    def __init__(self, reason: Reason, detail: str, *, parser: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.parser = parser


class DecodeError(ProcessorError):
    """The raw bytes could not be turned into a text record."""

    stage = "decode"


class ParseError(ProcessorError):
    """A text record did not parse with the parser that was tried."""

    stage = "parse"


class EnrichmentError(ProcessorError):
    """An enricher could not complete an event (the event goes to the DLQ)."""

    stage = "enrich"

    def __init__(self, detail: str, *, enricher: str) -> None:
        super().__init__(Reason.ENRICHMENT_FAILED, detail, parser=enricher)
        self.enricher = enricher


class ConfigError(LogwardenError):
    """Configuration is invalid. The message names the file and the field."""
