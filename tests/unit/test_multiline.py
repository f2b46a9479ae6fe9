"""Multi-line folding: tracebacks join their record; nothing is ever lost or reordered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.multiline import (
    MultilineFolder,
    fold_lines,
    python_record_start,
    timestamp_record_start,
)

LOG = [
    "2026-11-22 03:46:58,893 - app.db - ERROR - query failed",
    "Traceback (most recent call last):",
    '  File "<string>", line 6, in <module>',
    "ZeroDivisionError: division by zero",
    "2026-11-22 03:46:59,001 - app.db - INFO - recovered",
    "WARNING:root:disk almost full",
]


def test_traceback_lines_join_their_record() -> None:
    assert fold_lines(LOG, python_record_start) == [
        "\n".join(LOG[:4]), LOG[4], LOG[5]]


def test_chained_traceback_with_blank_lines_stays_one_record() -> None:
    lines = [LOG[0], "Traceback (most recent call last):", '  File "a", line 1, in f',
             "KeyError: 'x'", "", "During handling of the above exception, another exception "
             "occurred:", "", "Traceback (most recent call last):", '  File "a", line 3, in f',
             "ValueError: y", LOG[4]]
    assert fold_lines(lines, python_record_start) == ["\n".join(lines[:-1]), LOG[4]]


def test_feed_returns_a_record_when_the_next_one_starts() -> None:
    folder = MultilineFolder(python_record_start)
    assert folder.feed(LOG[0], 0.0) == []
    assert folder.feed(LOG[1], 0.1) == []
    assert folder.pending == 2
    assert folder.feed(LOG[4], 0.2) == ["\n".join(LOG[:2])]
    assert folder.flush() == [LOG[4]]
    assert folder.flush() == []


def test_orphan_continuation_lines_form_their_own_record() -> None:
    lines = ['  File "x", line 1, in f', "KeyError: 'k'", LOG[0]]
    assert fold_lines(lines, python_record_start) == ["\n".join(lines[:2]), LOG[0]]


def test_timeout_closes_a_record() -> None:
    folder = MultilineFolder(python_record_start, timeout_s=2.0)
    folder.feed(LOG[0], 10.0)
    folder.feed(LOG[1], 11.0)
    assert folder.flush_due(12.9) == []
    assert folder.flush_due(13.0) == ["\n".join(LOG[:2])]
    assert folder.flush_due(100.0) == []
    # a continuation arriving after the timeout (flush_due not called) starts afresh
    folder.feed(LOG[0], 20.0)
    assert folder.feed(LOG[2], 25.0) == [LOG[0]]
    assert folder.flush() == [LOG[2]]


def test_max_lines_closes_a_record_without_losing_lines() -> None:
    lines = [LOG[0]] + [f"  line {i}" for i in range(7)]
    records = fold_lines(lines, python_record_start, max_lines=3)
    assert records == ["\n".join(lines[0:3]), "\n".join(lines[3:6]), "\n".join(lines[6:8])]


def test_max_bytes_counts_utf8_and_the_joining_newlines() -> None:
    lines = ["2026-11-22 x", "  é" * 2, "  ok"]  # 12 bytes, 8 bytes (é is 2), 4 bytes
    assert fold_lines(lines, python_record_start, max_bytes=21) == [
        "\n".join(lines[:2]), lines[2]]  # 12 + 1 + 8 = 21 fits; + 1 + 4 does not
    assert fold_lines(lines, python_record_start, max_bytes=20) == [
        lines[0], "\n".join(lines[1:])]  # the overflow line opens a record that others join


def test_a_line_longer_than_max_bytes_is_kept_whole() -> None:
    lines = ["2026-11-22 " + "x" * 100, "  next"]
    assert fold_lines(lines, python_record_start, max_bytes=10) == lines


@pytest.mark.parametrize("bad", [{"max_lines": 0}, {"max_bytes": 0}, {"timeout_s": -1.0},
                                 {"timeout_s": float("nan")}])
def test_limits_are_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="max_lines"):
        MultilineFolder(python_record_start, **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("line", "start"), [
    ("2026-11-22 03:46:58,893 - app - INFO - x", True),
    ("2026-11-22T03:46:58 ERROR x", True),
    ("WARNING:root:x", True),
    ("CRITICAL:app.db:x", True),
    ("Level 25:root:x", True),
    ("Traceback (most recent call last):", False),
    ('  File "<string>", line 6, in <module>', False),
    ("    1 / 0", False),
    ("ZeroDivisionError: division by zero", False),
    ("During handling of the above exception, another exception occurred:", False),
    ("ERROR in the message text", False),
    ("", False),
])
def test_python_record_start(line: str, start: bool) -> None:
    assert python_record_start(line) is start


@pytest.mark.parametrize(("line", "start"), [
    ("2026-11-22T04:00:00Z level=info", True),
    ("2026/11/22 04:00:00 [error] 1#1: x", True),
    ("[2026-11-22 04:00:00] x", True),
    ("[Sun Dec 04 04:47:44 2005] [error] x", True),
    ("Fri Sep 09 10:42:29 2011 x", True),
    ("Jun  1 15:16:01 host sshd[1]: x", True),
    ("10/Oct/2000:13:55:36 -0700 x", True),
    ("<34>Oct 11 22:14:15 host su: x", True),
    ("04:00:00.123 [main] INFO x", True),
    ("1795320000.123 x", True),
    ("\tat org.Foo.bar(Foo.java:1)", False),
    ("Caused by: java.io.IOException", False),
    ("  File \"x\", line 1", False),
    ("java.lang.IllegalStateException: x", False),
    ("12345 not a timestamp", False),
])
def test_timestamp_record_start(line: str, start: bool) -> None:
    assert timestamp_record_start(line) is start


_LINES = st.lists(st.text(max_size=20) | st.sampled_from(LOG), max_size=40)


@settings(max_examples=400, deadline=None)
@given(lines=_LINES, max_lines=st.integers(1, 6), max_bytes=st.integers(1, 80),
       marker=st.sampled_from(["2", "W", "", "x"]))
def test_folding_never_loses_or_reorders(lines: list[str], max_lines: int, max_bytes: int,
                                         marker: str) -> None:
    def is_start(line: str) -> bool:
        return bool(marker) and line.startswith(marker)

    records = fold_lines(lines, is_start, max_lines, max_bytes)
    assert "\n".join(records) == "\n".join(lines)
    assert len(records) <= len(lines)
    for record in records:
        parts = record.split("\n")
        if not any("\n" in line for line in lines):
            assert len(parts) <= max_lines
            assert (len(parts) == 1
                    or len(record.encode("utf-8", "surrogatepass")) <= max_bytes)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.text(max_size=10) | st.sampled_from(LOG),
                                st.floats(0, 5), st.booleans()), max_size=40))
def test_streaming_with_timeouts_never_loses_or_reorders(
        steps: list[tuple[str, float, bool]]) -> None:
    folder = MultilineFolder(python_record_start, max_lines=4, max_bytes=200, timeout_s=2.0)
    now, records = 0.0, []
    for line, delay, poll in steps:
        now += delay
        if poll:
            records.extend(folder.flush_due(now))
        records.extend(folder.feed(line, now))
    records.extend(folder.flush())
    assert "\n".join(records) == "\n".join(line for line, _, _ in steps)
