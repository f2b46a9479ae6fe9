"""The worker's Faust monitor: what Faust reads back is kept, the per-event counting is not."""

from __future__ import annotations

import time
from typing import Any

from faust.types import TP, Message

from app.faust_app import raw_topic
from app.monitor import LeanMonitor


def test_the_worker_runs_the_lean_monitor(fapp: Any) -> None:
    assert type(fapp.monitor) is LeanMonitor
    assert fapp.monitor.loop is fapp.loop  # built by Faust (``Monitor`` setting), not by hand


async def test_stream_inbound_time_is_kept_per_partition() -> None:
    """Faust's aiokafka driver reads ``stream_inbound_time`` to log a stream that stopped."""
    monitor = LeanMonitor()
    tp = TP(raw_topic.get_topic_name(), 3)
    message = Message(tp.topic, 3, 41, time.time(), 0, [], b"k", b"v", None)
    before = time.monotonic()
    monitor.on_message_in(tp, 41, message)
    state = monitor.on_stream_event_in(tp, 41, raw_topic.stream(), None)  # type: ignore[func-returns-value]
    monitor.on_stream_event_out(tp, 41, raw_topic.stream(), None, state)
    monitor.on_message_out(tp, 41, message)
    assert before <= monitor.stream_inbound_time[tp] <= time.monotonic()
    assert TP(tp.topic, 2) not in monitor.stream_inbound_time
    # nothing else counted per message or per event
    assert monitor.messages_received_total == 0 and monitor.events_total == 0
    assert message.time_in is None and not monitor.events_runtime
    # what Faust's consumer reports once per fetched record and per commit is still kept
    monitor.track_tp_end_offset(tp, 99)
    monitor.on_tp_commit({tp: 42})
    assert monitor.tp_end_offsets[tp] == 99 and monitor.tp_committed_offsets[tp] == 42
