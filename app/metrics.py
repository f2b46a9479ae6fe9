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
# Notification delivery (agent notify). ``channel`` is a configured channel name (closed set).
NOTIFICATIONS_SENT = Counter("logwarden_notifications_sent_total",
                             "Notifications a channel accepted", ["channel"])
NOTIFICATIONS_FAILED = Counter("logwarden_notifications_failed_total",
                               "Notifications given up on after notify.max_attempts sends",
                               ["channel"])
NOTIFICATION_SEND_ERRORS = Counter("logwarden_notification_send_errors_total",
                                   "Failed sends (each retried until max_attempts)", ["channel"])
NOTIFICATIONS_DUPLICATE = Counter("logwarden_notifications_duplicate_total",
                                  "Notifications not sent again: the channel already has the key",
                                  ["channel"])
NOTIFICATIONS_RATE_LIMITED = Counter("logwarden_notifications_rate_limited_total",
                                     "Sends delayed by the channel's rate limit", ["channel"])
# Web security, processing latency, consumer lag, alert states (``web.metrics`` feeds the
# first three; the alerting agent sets ALERTS). ``topic`` is a logwarden topic's role
# (raw, events, dlq, windows_closed: closed set), never a topic name.
TOPIC_ROLES = ("raw", "events", "dlq", "windows_closed")
MESSAGE_PROCESSING = Histogram(
    "logwarden_message_processing_seconds",
    "From a consumer receiving a Kafka message until every agent reading it acknowledged "
    "it (batching wait included), per topic role", ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ALERT_STATES = ("inactive", "pending", "firing", "resolved")
ALERTS = Gauge("logwarden_alerts", "Alert instances per state", ["state"])
AUTH_FAILURES = Counter("logwarden_web_auth_failures_total",
                        "Requests refused by the web's authentication, per reason",
                        ["reason"])  # unauthenticated, bad_token, forbidden, csrf
AUTH_FAILURE_REASONS = ("unauthenticated", "bad_token", "forbidden", "csrf")
LOGINS = Counter("logwarden_web_logins_total", "OIDC logins, per outcome",
                 ["outcome"])  # ok, no_role, failed
LOGIN_OUTCOMES = ("ok", "no_role", "failed")
