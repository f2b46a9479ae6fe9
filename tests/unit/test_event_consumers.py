"""The built-in ``logs.events`` consumers decode only what they use: the index agent's
documents as their own bytes, the window fold's fields as structs. Both must accept and
refuse exactly what ``decode_event_batch`` does, and produce what the dict paths did."""

from __future__ import annotations

import math

import orjson
import pytest
from ddsketch.mapping import LogarithmicMapping
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import DecodeError
from app.core.eventbatch import decode_event_batch, decode_fold_batch, split_event_batch
from app.core.indexing import bulk_operations, raw_bulk_operations
from app.core.windows.book import PartitionMark, fold_messages
from app.core.windows.latency import LatencySketch
from app.core.windows.stats import WindowStats, fold, fold_event
from app.core.windows.topn import TopN
from tests.unit.test_windows import T0, doc

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
events = st.fixed_dictionaries(
    {"event_id": st.text(max_size=12), "ts": st.sampled_from(
        ["2026-12-07T01:02:03.456Z", "2026-12-08T23:59:59.000001Z", "2026-12-07T00:00:00Z"])},
    optional={"service": json_values, "severity_number": st.integers(-3, 30) | json_values,
              "is_error": json_values, "message": json_values, "http": json_values,
              "attrs": json_values})


def encodings(docs: list[dict]) -> list[bytes]:
    out = [orjson.dumps(docs), orjson.dumps(docs, option=orjson.OPT_INDENT_2)]
    if len(docs) == 1:
        out += [orjson.dumps(docs[0]), b"  " + orjson.dumps(docs[0], option=orjson.OPT_INDENT_2)]
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(events, min_size=1, max_size=5))
def test_raw_documents_make_the_same_bulk_body_as_decoded_ones(docs: list[dict]) -> None:
    for value in encodings(docs):
        raw = split_event_batch(value)
        assert [(e[0], e[1]) for e in raw] == [(d["event_id"], d["ts"]) for d in docs]
        assert raw_bulk_operations(raw, "lw") == bulk_operations(decode_event_batch(value), "lw")


@pytest.mark.parametrize("value", [
    b"", b"not json", b"[1, 2]", b'[{"event_id": "a"}]', b'{"event_id": 1, "ts": "x"}',
    b'[{"event_id": "a", "ts": "2026-12-07T00:00:00Z", "m": "\xff"}]', b'"text"',
    b'[{"event_id": "a", "ts": "2026-12-07T00:00:00Z"}, null]', b"[]" + b"x",
])
def test_the_typed_decoders_refuse_what_decode_event_batch_refuses(value: bytes) -> None:
    with pytest.raises(DecodeError) as expected:
        decode_event_batch(value)
    for decode in (split_event_batch, decode_fold_batch):
        with pytest.raises(DecodeError) as got:
            decode(value)
        assert got.value.reason == expected.value.reason


def test_an_http_that_is_not_an_object_counts_as_none() -> None:
    value = orjson.dumps([{"event_id": "a", "ts": "2026-12-07T00:00:00Z", "http": "x"}])
    [event] = decode_fold_batch(value)
    assert event.http is None and event == fold_event(decode_event_batch(value)[0])


@settings(max_examples=200, deadline=None)
@given(st.lists(events, min_size=1, max_size=6))
def test_fold_structs_are_the_dicts_fold_fields(docs: list[dict]) -> None:
    value = orjson.dumps(docs)
    assert decode_fold_batch(value) == [fold_event(d) for d in decode_event_batch(value)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 300), st.sampled_from(["api", "db", ""]),
                          st.sampled_from(["/a/{id}", "", "/b"]), st.booleans(),
                          st.floats(0, 5000), st.integers(0, 30)), min_size=1, max_size=120),
       st.integers(1, 40))
def test_the_cell_fold_reports_what_event_by_event_adds_report(
        rows: list[tuple[float, str, str, bool, float, int]], per_message: int) -> None:
    docs = [doc(T0 + ts, service, route=route, error=error, latency=latency,
                client=f"10.0.0.{client}") | {"event_id": str(i)}
            for i, (ts, service, route, error, latency, client) in enumerate(rows)]
    messages = [(n, docs[i:i + per_message])
                for n, i in enumerate(range(0, len(docs), per_message))]
    out = fold_messages(messages, PartitionMark(0), lambda key: {}, service_sizes=(10, 60),
                        route_sizes=(60,))
    expected = fold(docs)  # one WindowStats.add per event and window
    assert set(out.partials) == set(expected)
    for key, stats in expected.items():
        got = out.partials[key]
        assert (got.events, got.errors, got.bytes, got.severity, got.status) == (
            stats.events, stats.errors, stats.bytes, stats.severity, stats.status)
        assert got.latency.buckets == stats.latency.buckets
        assert (got.latency.count, got.latency.low, got.latency.high) == (
            stats.latency.count, stats.latency.low, stats.latency.high)
        assert math.isclose(got.latency.total, stats.latency.total, rel_tol=1e-12)
        assert sum(got.routes.counts.values()) == sum(stats.routes.counts.values())
        if len(stats.clients.counts) < stats.clients.capacity:  # nothing evicted: exact
            assert got.clients.counts == stats.clients.counts


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=-5, max_value=1e7, allow_nan=False), max_size=300))
def test_bulk_sketch_inserts_match_single_ones_and_ddsketch_buckets(values: list[float]) -> None:
    one, many = LatencySketch(), LatencySketch()
    for value in values:
        one.add(value)
    many.add_many(values)
    assert one == many
    mapping = LogarithmicMapping(0.01)
    want: dict[int, int] = {}
    for value in values:
        if value >= mapping.min_possible:
            want[mapping.key(value)] = want.get(mapping.key(value), 0) + 1
    assert one.buckets == want


def test_window_stats_add_takes_dicts_and_structs_alike() -> None:
    a, b = WindowStats(), WindowStats()
    d = doc(T0, error=True) | {"event_id": "x"}
    a.add(d)
    b.add(fold_event(d))
    assert a.to_state() == b.to_state()


def test_a_batch_of_replays_only_leaves_no_partials() -> None:
    events = [doc(T0 + i, route="/r") | {"pos": [0, 7, i]} for i in range(5)]
    floors = {"r0": 7 << 20 | 10}
    out = fold_messages([(3, events)], PartitionMark(0), lambda key: floors,
                        service_sizes=(10, 60), route_sizes=(60,))
    assert out.partials == {} and out.seen == {} and out.replayed == 15


def test_odd_routes_count_as_their_text_or_as_none() -> None:
    events = [doc(T0 + 1) | {"http": {"route": 7}}, doc(T0 + 2) | {"http": {"route": []}}]
    out = fold_messages([(0, events)], PartitionMark(0), lambda key: {},
                        service_sizes=(60,), route_sizes=(60,))
    assert {(k.route, s.events) for k, s in out.partials.items()} == {(None, 2), ("7", 1)}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30).map(str), st.integers(1, 5)), max_size=300),
       st.integers(1, 8))
def test_topn_evicts_the_first_smallest_key_as_min_does(adds: list[tuple[str, int]],
                                                        capacity: int) -> None:
    top, counts, errors = TopN(capacity), {}, {}
    for key, n in adds:
        top.add(key, n)
        if key in counts:
            counts[key] += n
        elif len(counts) < capacity:
            counts[key] = n
        else:
            smallest = min(counts, key=counts.__getitem__)
            floor = counts.pop(smallest)
            errors.pop(smallest, None)
            counts[key], errors[key] = floor + n, floor
    assert list(top.counts.items()) == list(counts.items()) and top.errors == errors
