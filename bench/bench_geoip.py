"""What the GeoIP enricher costs per event: an address it has not seen, and one it has.

Access logs of a public site carry many client addresses once: each costs the
enricher a parse, a check that the address is public, and a table lookup, before its
caches answer the next time. This times ``GeoIpEnricher.enrich`` (the bundled country
database, as the worker builds it) on events with ``http.client_ip``:

* ``first seen``: ``--addresses`` distinct random IPv4 addresses, a new enricher (empty
  caches) for each repetition, so every event misses;
* ``seen``: the same events again on the warm enricher (its caches hold at most
  ``cache_size``, 10,000, so use at most that many addresses for a pure hit figure).

CPU time (``time.process_time``) per event, the best of ``--reps``. To compare two
commits, run this script against each tree (``PYTHONPATH=<worktree>``), alternated.

    .venv/bin/python bench/bench_geoip.py --addresses 10000 --reps 5
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after PYTHONPATH: a worktree given there wins

from app.core.enrichment.geoip import GeoIpEnricher  # noqa: E402
from app.core.events import HttpInfo, LogEvent  # noqa: E402


def events(addresses: list[str]) -> list[LogEvent]:
    return [LogEvent(event_id="e", ts=0.0, observed_ts=0.0, service="s", message="m",
                     http=HttpInfo(client_ip=ip)) for ip in addresses]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addresses", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    addresses = list({".".join(str(rng.randint(0, 255)) for _ in range(4))
                      for _ in range(args.addresses)})
    batch = events(addresses)
    first = seen = float("inf")
    found = 0
    for _ in range(args.reps):
        enricher = GeoIpEnricher()  # empty caches (loading the database is not timed)
        start = time.process_time()
        for event in batch:
            enricher.enrich(event)
        first = min(first, time.process_time() - start)
        found = sum(event.geo is not None for event in batch)
        start = time.process_time()
        for event in batch:
            enricher.enrich(event)
        seen = min(seen, time.process_time() - start)
    n = len(batch)
    print(f"{n:,} distinct IPv4 addresses ({found:,} with a country), best of {args.reps}, "
          f"{sys.modules['app'].__path__[0]}")
    print(f"first seen  {first / n * 1e6:6.2f} us/event")
    print(f"seen        {seen / n * 1e6:6.2f} us/event")


if __name__ == "__main__":
    main()
