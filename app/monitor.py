"""Faust's monitor, doing per message and per event only what Faust itself reads.

Every Faust app has a monitor (``app.monitor``), a sensor called for each Kafka
message (``on_message_in``/``_out``) and for each event a stream hands an agent
(``on_stream_event_in``/``_out``). Faust's ``PrometheusMonitor``
(``setup_prometheus_sensors``) adds, to the counting its base ``Monitor`` does,
label look-ups and increments of a dozen Prometheus families per message and per
event. logwarden unregistered those families (named after the app id, open label
sets, failing ``promtool check metrics``; see ``web.metrics``), yet the monitor
kept computing them: with one record per ``logs.raw`` message, a profile of the
worker put 12 % of its samples in ``PrometheusMonitor`` hooks (bench/RESULTS.md,
session 9).

``LeanMonitor`` keeps from those hooks the one value Faust reads back: the time a
stream last took an event from each partition (``stream_inbound_time``), which
Faust's aiokafka driver checks to log streams that stopped processing. Per-table,
commit, send, rebalance and lag bookkeeping stay ``Monitor``'s own (once per table
operation or per batch, not per event). The counts per stream, per task and per topic
and the event runtimes that Faust's debug statistics pages show (off in production:
``web_stats_enabled`` follows ``debug``) are no longer kept; logwarden's own metrics
(``app.metrics``, ``web.metrics``) count records, events and message latency.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors.monitor import Monitor


class LeanMonitor(Monitor):
    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing: Faust reads none of ``Monitor``'s per-message counts."""

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing (see ``on_message_in``)."""

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        """When a stream last took an event from ``tp`` (Faust's slow-stream check)."""
        self.stream_inbound_time[tp] = monotonic()

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any,
                            state: dict[str, Any] | None = None) -> None:
        """Nothing: no runtime kept per event."""
