"""Each rule type, table-driven through the router and evaluator (event time)."""

from __future__ import annotations

import pytest

from tests.unit.alerting.helpers import Harness, event, rules, window

T0 = 1_700_000_000.0


@pytest.mark.parametrize(("spec", "windows", "expected"), [
    # error rate over 1 min from 10 s windows: fires on the window that tips it
    ("metric: error_rate\nop: '>'\nvalue: 0.2\nwindow: 1m\nmin_events: 10",
     [(100, 0)] * 3 + [(100, 90)] * 2 + [(100, 0)] * 6, ["inactive->pending", "pending->firing",
                                                      "firing->resolved"]),
    ("metric: error_rate\nop: '>'\nvalue: 0.2\nwindow: 1m\nmin_events: 1000",
     [(100, 90)] * 6, []),  # too few events to judge
    ("metric: count\nop: '<'\nvalue: 50\nwindow: 10s", [(100, 0), (10, 0), (100, 0)],
     ["inactive->pending", "pending->firing", "firing->resolved"]),
    ("metric: latency_p95\nop: '>'\nvalue: 500\nwindow: 10s", [(100, 0)], []),
    ("metric: status_rate\nstatus_class: 5xx\nop: '>='\nvalue: 0.5\nwindow: 10s",
     [(10, 0)], ["inactive->pending", "pending->firing"]),
])
def test_threshold(spec: str, windows: list[tuple[int, int]], expected: list[str]) -> None:
    h = Harness(rules(f"name: t\ntype: threshold\ngroup_by: [service]\n{spec}\n", (10,)))
    for i, (events, errors) in enumerate(windows):
        h.windows(window("checkout", T0 + 10 * i, events=events, errors=errors,
                         status={"5xx": 6, "2xx": 4}))
    assert h.states("t") == expected


def test_threshold_skips_a_window_seen_twice_and_other_sizes() -> None:
    h = Harness(rules("name: t\ntype: threshold\nmetric: errors\nvalue: 5\nwindow: 20s\n"))
    h.windows(window("a", T0, errors=3), window("a", T0, errors=3),  # a replay
              window("a", T0, size=60, errors=99))  # another size: not this rule's
    assert h.states("t") == []
    h.windows(window("a", T0 + 10, errors=3))
    assert h.states("t") == ["inactive->pending", "pending->firing"]


def test_frequency_per_ip_fires_at_count_and_resolves_with_time() -> None:
    h = Harness(rules("name: f\ntype: frequency\ngroup_by: [attrs.source_ip]\ncount: 3\n"
                      "within: 1m\nfilter: {message: failed}\n"))
    for i in range(3):
        h.events(event(T0 + i, "bastion", "Failed password", attrs={"source_ip": "1.2.3.4"}))
        h.events(event(T0 + i, "bastion", "Failed password", attrs={"source_ip": "5.6.7.8"})
                 if i < 2 else event(T0 + i, "bastion", "accepted"))
    firing = [t for t in h.out.transitions if t.to_state == "firing"]
    assert [t.labels["source_ip"] for t in firing] == ["1.2.3.4"]
    h.events(event(T0 + 2, "bastion", "Failed password", attrs={"source_ip": "1.2.3.4"}))
    h.tick(T0 + 30)
    assert h.states("f")[-1] == "pending->firing"
    h.tick(T0 + 61)
    assert h.states("f")[-1] == "firing->resolved"


def test_frequency_ignores_the_same_event_twice() -> None:
    h = Harness(rules("name: f\ntype: frequency\ncount: 2\nwithin: 1m\n"))
    doc = event(T0)
    h.events(doc, doc)
    assert h.states("f") == []


def test_any_fires_on_each_match_clears_when_quiet_and_is_rate_capped() -> None:
    h = Harness(rules("name: x\ntype: any\nfilter: {severity: fatal}\ngroup_by: [service]\n"
                      "quiet: 1m\nmax_alerts: 2\nper: 10m\n"
                      "notify: {group_wait: 0s, group_interval: 10s}\n"))
    h.events(event(T0, "a", "boom", 21), event(T0 + 1, "b", "boom", 21),
             event(T0 + 2, "c", "boom", 21), event(T0 + 3, "d", "info", 9))
    fired = {t.labels["service"] for t in h.out.transitions if t.to_state == "firing"}
    assert fired == {"a", "b"}  # c is over the cap
    h.tick(T0 + 30)
    assert [n.kind for n in h.out.notifications] == ["firing", "firing"]
    assert "1 more alert(s) of this rule were held back by its rate cap" in \
        h.out.notifications[1].body
    h.tick(T0 + 62)
    assert {t.labels["service"] for t in h.out.transitions if t.to_state == "resolved"} == \
        {"a", "b"}


def test_spike_learns_then_fires_up_and_does_not_learn_the_spike() -> None:
    h = Harness(rules("name: s\ntype: spike\ngroup_by: [service]\nmetric: errors\n"
                      "window: 10s\nwarm_up: 5\nz: 3\nmin_events: 10\nmin_stddev: 1\n"))
    errors = [10, 11, 9, 10, 10, 11, 9, 60, 60, 60, 10]
    for i, n in enumerate(errors):
        h.windows(window("a", T0 + 10 * i, errors=n))
    assert h.states("s") == ["inactive->pending", "pending->firing", "firing->resolved"]
    firing = next(t for t in h.out.transitions if t.to_state == "firing")
    assert firing.baseline is not None and firing.baseline["mean"] < 12


@pytest.mark.parametrize(("baseline", "direction", "series", "fires"), [
    ("median_mad", "down", [100, 102, 98, 101, 99, 100, 5], True),
    ("median_mad", "up", [100, 102, 98, 101, 99, 100, 5], False),
    ("ewma", "both", [100, 102, 98, 101, 99, 100, 5], True),
    ("ewma", "up", [100, 102, 98, 101, 99, 100, 103], False),
])
def test_spike_directions(baseline: str, direction: str, series: list[int],
                          fires: bool) -> None:
    h = Harness(rules(f"name: s\ntype: spike\ngroup_by: [service]\nmetric: count\n"
                      f"window: 10s\nwarm_up: 5\nz: 4\nmin_events: 10\nbaseline: {baseline}\n"
                      f"direction: {direction}\n"))
    for i, n in enumerate(series):
        h.windows(window("a", T0 + 10 * i, events=n))
    assert ("pending->firing" in h.states("s")) is fires


def test_spike_waits_for_warm_up() -> None:
    h = Harness(rules("name: s\ntype: spike\ngroup_by: [service]\nwindow: 10s\nwarm_up: 5\n"))
    for i, n in enumerate([10, 10, 500]):
        h.windows(window("a", T0 + 10 * i, events=n))
    assert h.states("s") == []


def test_flatline_only_for_a_service_that_was_active() -> None:
    h = Harness(rules("name: q\ntype: flatline\ngroup_by: [service]\nwindow: 30s\n"))
    for i in range(4):
        h.windows(window("never", T0 + 10 * i, events=0))
    assert h.states("q") == []
    counts = [5, 5, 0, 0, 0, 7]
    for i, n in enumerate(counts):
        h.windows(window("was", T0 + 10 * i, events=n))
    assert h.states("q") == ["inactive->pending", "pending->firing", "firing->resolved"]
    firing = next(t for t in h.out.transitions if t.to_state == "firing")
    assert firing.value == 0 and firing.at == T0 + 50


def test_new_term_after_warm_up_only() -> None:
    h = Harness(rules("name: n\ntype: new_term\ngroup_by: [service]\nfields: [template_id]\n"
                      "warm_up: 1m\nactive_for: 5m\nlookback: 1d\n"))
    h.events(event(T0, template_id="known"))
    h.events(event(T0 + 30, template_id="learned"))  # new, but during warm-up
    h.events(event(T0 + 90, template_id="known"), event(T0 + 91, template_id="learned"))
    assert h.states("n") == []
    h.events(event(T0 + 100, template_id="fresh"))
    fired = [t for t in h.out.transitions if t.to_state == "firing"]
    assert [t.labels["template_id"] for t in fired] == ["fresh"]
    h.tick(T0 + 401)
    assert h.states("n")[-1] == "firing->resolved"
    h.events(event(T0 + 86400 + 500, template_id="known"))  # unseen for a day: new again
    assert h.states("n")[-2:] == ["inactive->pending", "pending->firing"] or \
        h.states("n")[-2:] == ["resolved->pending", "pending->firing"]


def test_percentage_match_per_route_window() -> None:
    h = Harness(rules("name: p\ntype: percentage_match\ngroup_by: [http.route]\n"
                      "match: {fields: {http.status: {gte: 500}}}\nwindow: 1m\nop: '>'\n"
                      "value: 25\nmin_events: 4\n"))
    for i in range(8):
        h.events(event(T0 + i, http={"route": "/a", "status": 503 if i % 2 else 200}))
        h.events(event(T0 + i, http={"route": "/b", "status": 200}))
    assert h.states("p") == []
    h.tick(T0 + 60)
    fired = [t for t in h.out.transitions if t.to_state == "firing"]
    assert [t.labels["route"] for t in fired] == ["/a"] and fired[0].value == 50.0
    h.events(event(T0 + 61, http={"route": "/a", "status": 200}))
    h.tick(T0 + 121)  # 1 event in the next window: not judged (min_events), clears
    assert h.states("p")[-1] == "firing->resolved"
