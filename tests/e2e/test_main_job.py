"""``logwarden run`` (what ``make run`` starts): generated logs become searchable."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.e2e


def test_run_command_makes_generated_logs_searchable_within_a_minute(
        isolated: dict[str, str]) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "run", "--rate", "100", "--duration", "20"],
        env=isolated, capture_output=True, text=True, timeout=180, check=False)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    final = re.search(r"done: searchable events: (\d+) \(\+(\d+) this run\)", output)
    assert final, output
    sent = re.search(r"generated (\d+) lines", output)
    assert sent and int(sent.group(1)) >= 1900, output
    # every generated line is searchable except the malformed ones (0.1 %), which the
    # worker reports as dead letters
    letters = re.search(r"done: .*dead letters this run: (\d+)", output)
    assert letters, output
    assert int(final.group(2)) + int(letters.group(1)) == int(sent.group(1)), output
    assert elapsed < 60, f"took {elapsed:.0f}s\n{output}"
