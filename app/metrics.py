"""Prometheus metrics of the pipeline. Label sets are closed (stage, reason, agent)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECORDS_IN = Counter("logwarden_records_in_total",
                     "Log records taken from Kafka, per agent", ["agent"])
EVENTS_OUT = Counter("logwarden_events_out_total",
                     "Canonical events an agent emitted or wrote, per agent", ["agent"])
DEAD_LETTERS = Counter("logwarden_dead_letters_total",
                       "Records sent to the dead-letter topic", ["stage", "reason"])
SINK_RETRIES = Counter("logwarden_sink_retries_total",
                       "Sink writes retried after a retryable failure", ["sink"])
SINK_LATENCY = Histogram("logwarden_sink_write_seconds",
                         "Duration of one successful sink write (bulk)", ["sink"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
