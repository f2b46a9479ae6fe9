"""Window bookkeeping: replays fold nothing twice, closed windows stay closed, empty
windows for silent services, and a crash between the two closing phases re-emits the
same windows."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.windows.book import (
    OpenWindow,
    PartitionMark,
    ServiceSeen,
    close_plan,
    fold_messages,
    position,
)
from app.core.windows.stats import WindowKey, WindowStats, fold
from tests.unit.test_windows import T0, doc

SIZES = (10, 60)
ROUTES = (60,)


class Table:
    """The agent's use of the window table, in memory: open windows and a mark."""

    def __init__(self) -> None:
        self.windows: dict[WindowKey, OpenWindow] = {}
        self.mark = PartitionMark(0)

    def floor(self, key: WindowKey) -> dict[str, int]:
        window = self.windows.get(key)
        return {} if window is None else window.seen

    def apply(self, messages: list[tuple[int, list[dict]]]) -> None:
        out = fold_messages(messages, self.mark, self.floor, service_sizes=SIZES,
                            route_sizes=ROUTES)
        for key, partial in out.partials.items():
            window = self.windows.get(key)
            if window is None:
                self.windows[key] = OpenWindow(0, out.seen[key], partial)
            else:
                window.absorb(partial, out.seen[key])
        self.mark.max_event = out.max_event


def totals(windows: dict[WindowKey, WindowStats]) -> dict[WindowKey, tuple[int, int]]:
    return {k: (s.events, s.errors) for k, s in windows.items()}


def test_fold_counts_every_window_and_tracks_offsets_services_and_max() -> None:
    messages = [(5, [doc(T0 + 1), doc(T0 + 12, error=True)]), (6, [doc(T0 + 61, "db")])]
    out = fold_messages(messages, PartitionMark(0), lambda key: {}, service_sizes=SIZES,
                        route_sizes=ROUTES)
    assert out.events == 3 and out.late == 0 and out.replayed == 0
    assert out.max_event == T0 + 61
    assert out.services == {"api": (T0 + 1, T0 + 12), "db": (T0 + 61, T0 + 61)}
    assert out.partials[WindowKey("api", None, 60, T0)].events == 2
    # no ``pos`` (a plain producer): placed by logs.events offset and index
    assert out.seen[WindowKey("api", None, 60, T0)] == {"e0": position(5, 1)}
    assert out.seen[WindowKey("db", "/a/{id}", 60, T0 + 60)] == {"e0": position(6, 0)}
    assert totals(out.partials) == totals(fold([d for _, ds in messages for d in ds],
                                               SIZES, ROUTES))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 299), st.booleans()), min_size=1, max_size=120),
       st.integers(1, 20), st.data())
def test_a_replay_from_any_offset_changes_no_window(events: list[tuple[int, bool]],
                                                    per_message: int, data: st.DataObject) -> None:
    docs = [doc(T0 + offset_s, error=err) for offset_s, err in sorted(events)]
    messages = [(i, docs[j:j + per_message])
                for i, j in enumerate(range(0, len(docs), per_message))]
    once = Table()
    once.apply(messages)
    # crash after some batches; Kafka redelivers from an earlier committed offset
    crashed = Table()
    cut = data.draw(st.integers(0, len(messages)))
    restart = data.draw(st.integers(0, cut))
    crashed.apply(messages[:cut])
    crashed.apply(messages[restart:])
    assert {k: (w.stats.events, w.stats.errors) for k, w in crashed.windows.items()} == \
           {k: (w.stats.events, w.stats.errors) for k, w in once.windows.items()}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 299)), min_size=1, max_size=120),
       st.integers(1, 15), st.integers(1, 15), st.data())
def test_events_parsed_twice_are_folded_once(records: list[tuple[int, int]], first_batch: int,
                                             second_batch: int, data: st.DataObject) -> None:
    """The parse agent re-publishes after a crash: new logs.events messages, regrouped,
    with the same logs.raw positions. The second copy changes no window."""
    raw = [doc(T0 + ts) | {"pos": [p, 100 + i // 3, i % 3]}
           for i, (p, ts) in enumerate(sorted(records, key=lambda r: r[1]))]
    # positions grow per raw partition in the order the parse agent publishes them
    for p in (0, 1):
        mine = [d for d in raw if d["pos"][0] == p]
        assert [d["pos"] for d in mine] == sorted(d["pos"] for d in mine)

    def messages(docs: list[dict], size: int, start: int) -> list[tuple[int, list[dict]]]:
        return [(start + i, docs[j:j + size]) for i, j in enumerate(range(0, len(docs), size))]

    once = Table()
    once.apply(messages(raw, first_batch, 0))
    twice = Table()
    cut = data.draw(st.integers(0, len(raw)))
    again = data.draw(st.integers(0, cut))
    twice.apply(messages(raw[:cut], first_batch, 0))
    twice.apply(messages(raw[again:], second_batch, 1000))
    assert {k: w.stats.events for k, w in twice.windows.items()} == \
           {k: w.stats.events for k, w in once.windows.items()}


def test_events_for_closed_windows_are_late_and_never_reopen_them() -> None:
    mark = PartitionMark(0, max_event=T0 + 70, closed=T0 + 60, emitted=T0 + 60)
    out = fold_messages([(9, [doc(T0 + 55), doc(T0 + 65)])], mark, lambda key: {},
                        service_sizes=SIZES, route_sizes=ROUTES)
    # T0+55 lands in [T0+50, T0+60) and [T0, T0+60): both closed
    assert out.late == 3
    assert set(out.partials) == {WindowKey("api", None, 10, T0 + 60),
                                 WindowKey("api", None, 60, T0 + 60),
                                 WindowKey("api", "/a/{id}", 60, T0 + 60)}


def test_close_plan_closes_what_the_watermark_passed_and_fills_gaps_with_empty_windows() -> None:
    open_windows = [WindowKey("api", None, 10, T0), WindowKey("api", None, 10, T0 + 30),
                    WindowKey("api", None, 60, T0), WindowKey("api", "/a/{id}", 60, T0),
                    WindowKey("api", None, 10, T0 + 60)]
    services = {"api": ServiceSeen(0, first=T0 + 1, last=T0 + 61)}
    plan = close_plan(PartitionMark(0, max_event=T0 + 65), T0 + 60, open_windows, services,
                      service_sizes=SIZES, silent_after_s=3600)
    assert set(plan.closing) == set(open_windows[:4])
    assert plan.empty == [WindowKey("api", None, 10, T0 + s) for s in (10, 20, 40, 50)]
    assert plan.forget == [] and plan.closed == T0 + 60


def test_a_silent_service_gets_empty_windows_then_is_forgotten() -> None:
    services = {"api": ServiceSeen(0, first=T0, last=T0 + 5)}
    mark = PartitionMark(0, max_event=T0 + 5, closed=T0 + 10, emitted=T0 + 10)
    plan = close_plan(mark, T0 + 200, [], services, service_sizes=(10,), silent_after_s=60)
    # windows ending in (T0+10, T0+5+60]: starts T0+10 .. T0+50
    assert plan.empty == [WindowKey("api", None, 10, T0 + s) for s in (10, 20, 30, 40, 50)]
    assert plan.forget == ["api"]
    # the watermark never goes back
    assert close_plan(mark, T0 - 100, [], {}, service_sizes=(10,),
                      silent_after_s=60).closed == T0 + 10


def test_a_crash_between_the_phases_plans_the_same_windows_again() -> None:
    open_windows = [WindowKey("api", None, 10, T0)]
    services = {"api": ServiceSeen(0, first=T0, last=T0 + 35)}
    before = PartitionMark(0, max_event=T0 + 40, closed=None, emitted=None)
    first = close_plan(before, T0 + 30, open_windows, services, service_sizes=(10,),
                       silent_after_s=3600)
    # phase 1 raised ``closed``; the worker died before phase 2 dropped anything
    crashed = PartitionMark(0, max_event=T0 + 40, closed=first.closed, emitted=None)
    again = close_plan(crashed, T0 + 25, open_windows, services, service_sizes=(10,),
                       silent_after_s=3600)
    assert (again.closing, again.empty, again.closed) == (first.closing, first.empty,
                                                          first.closed)
    # after phase 2 nothing is planned twice
    done = PartitionMark(0, max_event=T0 + 40, closed=first.closed, emitted=first.closed)
    assert not close_plan(done, T0 + 30, [], services, service_sizes=(10,),
                          silent_after_s=3600)


def test_book_states_round_trip_through_json() -> None:
    stats = WindowStats()
    stats.add(doc(T0, error=True))
    for value in (OpenWindow(3, {"r0": position(42, 7), "e3": 5}, stats),
                  PartitionMark(3, T0, T0 - 5, T0 - 10),
                  ServiceSeen(3, T0, T0 + 9)):
        back = type(value).from_state(json.loads(json.dumps(value.to_state())))
        assert back.to_state() == value.to_state()


def test_a_copy_in_the_same_batch_as_its_original_is_folded_once() -> None:
    """After a crash the original (re-read) and the re-published copy can share a batch."""
    event = doc(T0 + 1) | {"pos": [0, 7, 0]}
    out = fold_messages([(1, [event]), (2, [dict(event)])], PartitionMark(0), lambda key: {},
                        service_sizes=(10,), route_sizes=())
    assert out.partials[WindowKey("api", None, 10, T0)].events == 1 and out.replayed == 1


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 400, allow_nan=False), st.sampled_from(["api", "db"]),
                          st.sampled_from(["/a/{id}", "", "/b"]), st.booleans()),
                min_size=1, max_size=80),
       st.sampled_from([(10,), (10, 60), (60, 10)]), st.sampled_from([(), (60,), (10, 60)]))
def test_the_fold_places_events_in_the_same_windows_as_window_keys(
        events: list[tuple[float, str, str, bool]], sizes: tuple[int, ...],
        routes: tuple[int, ...]) -> None:
    docs = [doc(T0 + ts, service, route=route, error=error)
            for ts, service, route, error in events]
    out = fold_messages([(0, docs)], PartitionMark(0), lambda key: {}, service_sizes=sizes,
                        route_sizes=routes)
    assert totals(out.partials) == totals(fold(docs, sizes, routes))
    assert set(out.seen) == set(out.partials)
