"""Property tests: threshold monotonicity and baseline laws."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from app.core.alerting.baseline import ewma_centre, ewma_update, median_mad, zscore
from app.core.alerting.types.threshold import compare
from app.core.alerting.types.windowed import metric_value, summarize
from tests.unit.alerting.helpers import window

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(values, values, values)
def test_a_higher_value_never_un_fires_an_upper_threshold(x: float, y: float,
                                                          bound: float) -> None:
    lo, hi = sorted((x, y))
    for op in (">", ">="):
        assert not compare(op, lo, bound) or compare(op, hi, bound)
    for op in ("<", "<="):
        assert not compare(op, hi, bound) or compare(op, lo, bound)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1,
                max_size=12))
def test_error_rate_over_windows_is_the_ratio_of_sums(pairs: list[tuple[int, int]]) -> None:
    docs = [summarize(window("a", 10.0 * i, events=max(n, e), errors=min(n, e)))
            for i, (n, e) in enumerate(pairs)]
    rate = metric_value("error_rate", docs)
    events = sum(d["n"] for d in docs)
    errors = sum(d["x"] for d in docs)
    assert rate == (errors / events if events else 0.0)
    assert rate is not None and 0.0 <= rate <= 1.0


@given(st.lists(values, min_size=1, max_size=60), st.floats(0.01, 1.0))
def test_ewma_mean_stays_within_the_data(series: list[float], alpha: float) -> None:
    state: dict[str, float] = {}
    for x in series:
        ewma_update(state, x, alpha)
    mean, std = ewma_centre(state)
    assert min(series) - 1e-6 * max(1, abs(min(series))) <= mean
    assert mean <= max(series) + 1e-6 * max(1, abs(max(series)))
    assert std >= 0 and state["n"] == len(series)


@given(st.floats(-1e6, 1e6), st.integers(1, 50), st.floats(0.01, 1.0))
def test_a_constant_series_has_no_spread_and_its_own_value_scores_zero(
        c: float, n: int, alpha: float) -> None:
    state: dict[str, float] = {}
    for _ in range(n):
        ewma_update(state, c, alpha)
    mean, std = ewma_centre(state)
    assert math.isclose(mean, c, rel_tol=1e-9, abs_tol=1e-9) and std < 1e-6 * max(1, abs(c))
    z, _ = zscore(c, mean, std, min_spread=1.0, relative_floor=0.05)
    assert abs(z) < 1e-6


@given(st.lists(st.floats(-1e5, 1e5), min_size=3, max_size=40), st.floats(-1e5, 1e5))
def test_median_mad_moves_with_a_shift_and_keeps_its_spread(series: list[float],
                                                            shift: float) -> None:
    centre, spread = median_mad(series)
    moved_centre, moved_spread = median_mad([x + shift for x in series])
    assert math.isclose(moved_centre, centre + shift, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(moved_spread, spread, rel_tol=1e-6, abs_tol=1e-6)


@given(st.floats(-1e3, 1e3), st.floats(0, 1e3), st.floats(0.001, 100), st.floats(0.1, 10))
def test_z_grows_with_distance_from_the_centre(centre: float, spread: float, d: float,
                                               k: float) -> None:
    near, _ = zscore(centre + d, centre, spread, min_spread=0.5, relative_floor=0.05)
    far, _ = zscore(centre + d * (1 + k), centre, spread, min_spread=0.5, relative_floor=0.05)
    assert far > near > 0
