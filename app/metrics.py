"""Prometheus metrics of the pipeline. Label sets are closed (stage, reason, agent)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

SINK_IN_FLIGHT = Gauge("logwarden_sink_requests_in_flight",
                       "Sink write requests (e.g. _bulk) currently in flight", ["sink"])
RETENTION_DELETED = Counter("logwarden_retention_deleted_total",
                            "Items removed by the retention job, per store",
                            ["store"])  # elasticsearch_indices, mongo_windows
RETENTION_FAILURES = Counter("logwarden_retention_failures_total",
                             "Retention runs that failed for a store (retried next tick)",
                             ["store"])
RETENTION_LAST_SUCCESS = Gauge("logwarden_retention_last_success_timestamp_seconds",
                               "Wall-clock time of the last complete retention run")
SUMMARY_READS = Counter("logwarden_window_summary_reads_total",
                        "Window summaries served by the API, per source",
                        ["source"])  # cache, store, none
WINDOWS_CLOSED = Counter("logwarden_windows_closed_total",
                         "Windows closed and emitted, with events or empty", ["kind"])
WINDOWS_OPEN = Gauge("logwarden_windows_open", "Open windows on this worker's partitions")
WINDOW_EVENTS_SKIPPED = Counter(
    "logwarden_window_events_skipped_total",
    "(event, window) pairs not folded: late (window closed), replayed (already folded) "
    "or undecodable message", ["reason"])
WINDOW_WATERMARK_LAG = Gauge("logwarden_window_watermark_lag_seconds",
                             "Wall clock minus the partition's watermark", ["partition"])
