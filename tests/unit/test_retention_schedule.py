"""The retention job's schedule and dates (no services)."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.retention import INTERVAL_S, TICK_S, RetentionReport, is_due, utc_day


def test_utc_day_is_the_utc_date() -> None:
    late = datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC).timestamp()
    assert utc_day(late) == "2026-11-21"
    assert utc_day(late + 1) == "2026-11-22"


def test_first_tick_runs_then_once_per_interval() -> None:
    assert TICK_S < INTERVAL_S
    assert is_due(None, 5.0, INTERVAL_S)
    assert not is_due(100.0, 100.0 + INTERVAL_S - 1, INTERVAL_S)
    assert is_due(100.0, 100.0 + INTERVAL_S, INTERVAL_S)


def test_report_is_ok_only_without_errors() -> None:
    assert RetentionReport("2026-11-22", 0.0).ok
    assert not RetentionReport("2026-11-22", 0.0, errors={"mongo_windows": "down"}).ok
