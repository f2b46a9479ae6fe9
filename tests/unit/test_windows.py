"""Window aggregation: sketch accuracy, merge laws, state round trips, watermarks."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.events import iso_utc
from app.core.windows.latency import LatencySketch
from app.core.windows.stats import WindowKey, WindowStats, fold, rollup, severity_band
from app.core.windows.topn import TopN
from app.core.windows.watermark import Watermarks

T0 = 1_795_000_020.0  # a multiple of 60


def doc(ts: float, service: str = "api", status: int = 200, latency: float = 10.0,
        route: str = "/a/{id}", error: bool = False, client: str = "10.0.0.1") -> dict:
    return {"ts": iso_utc(ts), "service": service, "severity_number": 17 if error else 9,
            "is_error": error, "message": "boom" if error else "ok",
            "http": {"status": status, "status_class": f"{status // 100}xx", "bytes": 100,
                     "duration_ms": latency, "route": route, "client_ip": client}}


latencies = st.lists(st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
                     min_size=1, max_size=400)


@settings(max_examples=150, deadline=None)
@given(latencies, st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_quantiles_within_one_percent(values: list[float], q: float) -> None:
    sketch = LatencySketch()
    for v in values:
        sketch.add(v)
    ordered = sorted(values)
    exact = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    lower = ordered[max(0, math.floor(q * (len(ordered) - 1)))]
    got = sketch.quantile(q)
    assert got is not None
    # DDSketch's guarantee: within 1 % of a value of the right rank
    assert min(abs(got - exact) / exact, abs(got - lower) / lower) <= 0.0101


@given(latencies, latencies)
def test_sketch_merge_equals_adding_everything(a: list[float], b: list[float]) -> None:
    left, right, both = LatencySketch(), LatencySketch(), LatencySketch()
    for v in a:
        left.add(v)
        both.add(v)
    for v in b:
        right.add(v)
        both.add(v)
    left.merge(right)
    assert (left.buckets, left.count, left.low, left.high) == (
        both.buckets, both.count, both.low, both.high)
    restored = LatencySketch.from_state(json.loads(json.dumps(left.to_state())))
    assert restored.quantile(0.99) == left.quantile(0.99)


def test_empty_sketch_and_zero_latencies() -> None:
    assert LatencySketch().quantile(0.5) is None
    sketch = LatencySketch()
    for v in (0.0, 0.0, 5.0):
        sketch.add(v)
    assert sketch.quantile(0.1) == 0.0
    assert sketch.quantile(1.0) == 5.0


def test_topn_keeps_heavy_hitters_and_bounds_size() -> None:
    top = TopN(capacity=5)
    for i in range(1000):
        top.add("hot" if i % 3 == 0 else f"cold-{i}")
    assert len(top.counts) == 5
    assert top.top(1)[0][0] == "hot"
    assert top.top(1)[0][1] >= 334


def test_fold_counts_windows_of_each_size_and_route() -> None:
    docs = [doc(T0 + 1), doc(T0 + 12, status=503, error=True, latency=300.0),
            doc(T0 + 59, service="db", route="/q")]
    partials = fold(docs)
    api10 = partials[WindowKey("api", None, 10, T0)]
    assert (api10.events, api10.errors) == (1, 0)
    api60 = partials[WindowKey("api", None, 60, T0)]
    assert (api60.events, api60.errors, api60.bytes) == (2, 1, 200)
    assert api60.status == {"2xx": 1, "5xx": 1}
    assert api60.severity == {"info": 1, "error": 1}
    final = api60.final(WindowKey("api", None, 60, T0))
    assert final["error_rate"] == 0.5 and final["latency_ms"]["max"] == 300.0
    assert partials[WindowKey("db", "/q", 60, T0)].events == 1
    assert WindowKey("api", "/a/{id}", 60, T0) in partials


@given(st.lists(st.tuples(st.floats(0, 119), st.booleans(), st.floats(0.1, 500)),
                min_size=1, max_size=60), st.integers(0, 60))
def test_batches_merge_to_the_same_totals(events: list[tuple[float, bool, float]],
                                          cut: int) -> None:
    docs = [doc(T0 + t, error=e, latency=lat) for t, e, lat in events]
    whole = fold(docs)
    merged: dict[WindowKey, WindowStats] = {}
    for part in (fold(docs[:cut]), fold(docs[cut:])):
        for key, stats in part.items():
            merged.setdefault(key, WindowStats()).merge(stats)
    assert set(whole) == set(merged)
    for key, stats in whole.items():
        other = merged[key]
        assert (stats.events, stats.errors, stats.severity, stats.latency.buckets) == (
            other.events, other.errors, other.severity, other.latency.buckets)


def test_rollup_of_tumbling_windows_equals_a_direct_fold() -> None:
    docs = [doc(T0 + t, latency=float(t + 1)) for t in range(0, 300, 7)]
    ten = [(k, s) for k, s in fold(docs, service_sizes=(10,), route_sizes=()).items()]
    five_min = rollup(ten, 300)
    direct = fold(docs, service_sizes=(300,), route_sizes=())
    for key, stats in direct.items():
        assert five_min[key].events == stats.events
        assert five_min[key].latency.buckets == stats.latency.buckets
    with pytest.raises(ValueError):
        rollup(ten, 25)


def test_state_round_trip_through_json() -> None:
    [(key, stats)] = [(k, s) for k, s in fold([doc(T0 + 5, error=True)]).items()
                      if k.size == 60 and k.route is None]
    restored = WindowStats.from_state(json.loads(json.dumps(stats.to_state())))
    assert restored.final(key) == stats.final(key)
    assert WindowKey.from_table_key(key.table_key()) == key


def test_severity_bands() -> None:
    assert [severity_band(n) for n in (0, 1, 5, 9, 13, 17, 21, 24)] == [
        "unspecified", "trace", "debug", "info", "warn", "error", "fatal", "fatal"]


def test_watermark_grace_and_idle_advance() -> None:
    marks = Watermarks(grace_s=5, idle_after_s=30)
    assert not marks.closable(0, T0 + 10, now=1000.0)
    marks.observe(0, T0 + 12, now=1000.0)
    assert not marks.closable(0, T0 + 10, now=1000.0)  # 12 - 5 < 10
    marks.observe(0, T0 + 16, now=1001.0)
    assert marks.closable(0, T0 + 10, now=1001.0)
    assert not marks.closable(0, T0 + 60, now=1001.0)
    # a quiet partition: after 30 s of silence its watermark follows the clock
    assert not marks.closable(0, T0 + 60, now=1031.0)
    assert marks.closable(0, T0 + 60, now=1001.0 + 30 + 49)
    assert marks.watermark(1, now=1000.0) is None
