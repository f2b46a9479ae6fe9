"""``replay_spike``: closed windows through the spike rule type, one point per window.

Its flagged windows are the spike rule's own verdicts: the same series through the alerts
engine (router + evaluator) goes pending exactly on the flagged windows and resolves on
the first window after a run of them.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.alerting.anomaly import replay_spike, spike_config
from app.core.alerting.types.spike import SpikeConfig
from tests.unit.alerting.helpers import Harness, rules, window

T0 = 1_700_000_000.0
SPEC = ("name: s\ntype: spike\ngroup_by: [service]\nmetric: errors\nwindow: 10s\n"
        "warm_up: 5\nz: 3\nmin_events: 10\nmin_stddev: 1\n{extra}")
ERRORS = [10, 11, 9, 10, 10, 11, 9, 60, 60, 60, 10, 12, 10, 35, 10, 9, 11]


def engine_runs(extra: str, series: list[int]) -> list[tuple[str, float]]:
    h = Harness(rules(SPEC.format(extra=extra)))
    for i, n in enumerate(series):
        h.windows(window("a", T0 + 10 * i, errors=n))
    return [(t.to_state, t.at) for t in h.out.transitions if t.to_state != "firing"]


def runs_of(flags: list[bool], ends: list[float]) -> list[tuple[str, float]]:
    """(pending at the first flagged window's end, resolved at the next unflagged one)."""
    out, before = [], False
    for flag, end in zip(flags, ends, strict=True):
        if flag != before:
            out.append(("pending" if flag else "resolved", end))
        before = flag
    return out


@pytest.mark.parametrize("extra", ["", "baseline: median_mad\nhistory: 8\n",
                                   "direction: both\nz: 2.5\n", "learn_while_anomalous: true\n"])
def test_flagged_windows_are_the_spike_rules_verdicts(extra: str) -> None:
    rule = rules(SPEC.format(extra=extra)).rules[0]
    assert isinstance(rule.kind.config, SpikeConfig)
    docs = [window("a", T0 + 10 * i, errors=n) for i, n in enumerate(ERRORS)]
    points = replay_spike(rule.kind.config, docs, 10)
    assert [p.start for p in points] == [T0 + 10 * i for i in range(len(ERRORS))]
    assert runs_of([p.flagged for p in points], [p.end for p in points]) == \
        engine_runs(extra, ERRORS)
    assert any(p.flagged for p in points)


def test_points_carry_the_baseline_and_its_band() -> None:
    config = spike_config(None, {"metric": "errors", "window": 10, "warm_up": 5, "z": 3,
                                 "min_events": 10, "min_stddev": 1})
    docs = [window("a", T0 + 10 * i, errors=n) for i, n in enumerate(ERRORS)]
    points = replay_spike(config, list(reversed(docs)) + docs[:3], 10)  # any order, replays
    assert len(points) == len(ERRORS)
    first = points[0]
    assert first.centre is None and first.upper is None and not first.warm
    assert [p.warm for p in points[:6]] == [False] * 5 + [True]
    spike = points[7]
    assert spike.flagged and spike.value == 60
    assert spike.centre is not None and spike.centre < 12 and spike.spread is not None
    assert spike.upper == pytest.approx(spike.centre + 3 * spike.spread)
    assert spike.lower == pytest.approx(spike.centre - 3 * spike.spread)
    assert spike.z is not None and spike.z > 3
    # the spike is not learned: the baseline after it is still the quiet one
    assert points[8].centre == spike.centre and points[8].learned == spike.learned


def test_a_higher_z_flags_fewer_windows() -> None:
    docs = [window("a", T0 + 10 * i, errors=n) for i, n in enumerate(ERRORS)]
    counts = [sum(p.flagged for p in replay_spike(
        spike_config(None, {"metric": "errors", "window": 10, "warm_up": 5, "z": z,
                            "min_events": 10, "min_stddev": 1}), docs, 10))
              for z in (3, 40)]
    assert counts[0] > counts[1] >= 1  # the 35 errors window drops out, the 60s stay


def test_overrides_start_from_a_rule_and_are_validated() -> None:
    rule = rules(SPEC.format(extra="")).rules[0]
    assert isinstance(rule.kind.config, SpikeConfig)
    config = spike_config(rule.kind.config, {"z": "5.5", "window": 60})
    assert (config.z, config.window, config.min_stddev, config.metric) == (5.5, 60, 1, "errors")
    with pytest.raises(ValidationError):
        spike_config(None, {"z": "0"})
    with pytest.raises(ValueError, match="window"):
        replay_spike(spike_config(None, {"window": 60}), [], 10)


def test_latency_without_data_is_a_gap() -> None:
    config = spike_config(None, {"metric": "latency_p95", "window": 10, "warm_up": 1})
    points = replay_spike(config, [window("a", T0, p95=None), window("a", T0 + 10)], 10)
    assert points[0].value is None and not points[0].flagged
    assert points[1].value == 50.0


def test_an_infinite_z_score_is_null_in_json() -> None:
    config = spike_config(None, {"window": 10, "warm_up": 1, "min_events": 0,
                                 "relative_floor": 0})
    points = replay_spike(config, [window("a", T0 + 10 * i, events=n)
                                   for i, n in enumerate([5, 5, 9])], 10)
    assert points[2].z == float("inf") and points[2].flagged
    assert points[2].to_doc()["z"] is None
