"""Instructions per line of a ``bench_ingest`` subject, counted with callgrind.

Builds the lines ``bench/bench_ingest.py`` builds for a format (same generator, same
seed), and its subjects (``ours p+e``, ``naive p+e``...: ``make_subjects``), runs the
chosen subject over them twice (warm caches, JSON plans compiled, as in a running
worker and as ``bench_ingest`` warms them), then once more with the garbage collector
off, inside ``collections.deque(itertools.starmap(subject, pairs), maxlen=0)``: that
pass alone is counted, with callgrind's ``--toggle-collect=deque_init`` (nothing on
the subjects' paths builds a deque). Instructions per line are that count over the
number of lines; the harness's own share (``starmap`` calling the subject) is a few
dozen instructions per line.

Run (each subject is one valgrind run of a couple of minutes at 3,000 lines)::

    .venv/bin/python bench/count_ingest.py json ours-p+e naive-p+e --lines 3000 --valgrind

which runs, per subject, and prints the instructions per line::

    PYTHONHASHSEED=0 TZ=UTC valgrind --tool=callgrind --toggle-collect=deque_init \\
        --callgrind-out-file=/tmp/count_ingest.json.ours-p+e.out \\
        .venv/bin/python bench/count_ingest.py json ours-p+e --lines 3000

(``callgrind_annotate`` on the out file breaks the count down by function). Without
``--valgrind`` the script only runs the passes (what valgrind runs).
"""

from __future__ import annotations

import argparse
import collections
import gc
import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench_ingest import corpus, make_subjects  # bench/, the script's directory

from app.core.enrichment.registry import build_pipeline
from app.core.parsing import FormatDetector

TOGGLE = "deque_init"


def run_passes(name: str, subject: str, lines: int) -> None:
    """Two warm-up passes of ``subject`` over the corpus, then the counted one."""
    fn = make_subjects(name, FormatDetector(), build_pipeline().run)[
        subject.replace("-", " ")][0]
    pairs = [(line, offset) for offset, line in enumerate(corpus(name, lines))]
    for _ in range(2):
        for line, offset in pairs:
            fn(line, offset)
    gc.collect()
    gc.disable()
    collections.deque(itertools.starmap(fn, pairs), maxlen=0)  # the counted pass


def count(name: str, subject: str, lines: int) -> float:
    """Instructions per line of ``subject`` over ``lines`` lines of format ``name``."""
    out = Path(f"/tmp/count_ingest.{name}.{subject}.out")
    env = {**os.environ, "PYTHONHASHSEED": "0", "TZ": "UTC"}
    subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={TOGGLE}",
                    f"--callgrind-out-file={out}", sys.executable, __file__, name, subject,
                    "--lines", str(lines)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
    if found is None:
        raise SystemExit(f"{out}: no totals line")
    return int(found.group(1)) / lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("format", help="json, http_access, syslog, python or logfmt")
    parser.add_argument("subjects", nargs="+",
                        help="ours-p+e, naive-p+e, ours-parse, naive-parse, ours-+doc")
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--valgrind", action="store_true",
                        help="run each subject under callgrind and print instructions/line")
    args = parser.parse_args()
    os.environ["TZ"] = "UTC"  # the naive parsers read zone-less times as local time
    time.tzset()
    if not args.valgrind:
        for subject in args.subjects:
            run_passes(args.format, subject, args.lines)
        return
    for subject in args.subjects:
        per_line = count(args.format, subject, args.lines)
        print(f"{args.format:12} {subject:12} {per_line:10,.0f} instructions/line "
              f"({args.lines:,} lines)", flush=True)


if __name__ == "__main__":
    main()
