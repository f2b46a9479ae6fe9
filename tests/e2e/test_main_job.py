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
    final = re.search(r"done: searchable events: (\d+)", output)
    assert final, output
    # about 100 lines/s for 20 s, a few malformed ones (0.1 %) go to the DLQ instead
    assert int(final.group(1)) >= 1800, output
    assert elapsed < 60, f"took {elapsed:.0f}s\n{output}"
