"""logs.events wire form: size-bounded batches that decode back to the same events."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.eventbatch import decode_event_batch, encode_event_batches, interleave


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=400), st.integers(1024, 20_000))
def test_event_batches_stay_under_the_size_limit_and_keep_order(messages: list[str],
                                                                limit: int) -> None:
    docs = [{"event_id": str(i), "ts": "2026-11-22T00:00:00Z", "message": m}
            for i, m in enumerate(messages)]
    values = encode_event_batches(docs, limit)
    assert all(len(v) <= limit for v in values if len(decode_event_batch(v)) > 1)
    assert [d for v in values for d in decode_event_batch(v)] == docs
    if docs and len(orjson.dumps(docs)) <= limit:
        assert len(values) == 1


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]),
                       st.lists(st.floats(0, 600, allow_nan=False), max_size=60), min_size=1),
       st.sampled_from([0.5, 1.0, 2.5]))
def test_interleaved_batches_keep_each_service_in_order_and_the_stream_near_time_order(
        times: dict[str, list[float]], slice_s: float) -> None:
    by_service = {svc: [{"event_id": f"{svc}{i}", "ts": t, "service": svc}
                        for i, t in enumerate(sorted(ts))] for svc, ts in times.items()}
    out = interleave(by_service, lambda d: float(d["ts"]), slice_s, 2048)
    decoded = [(svc, decode_docs(value)) for svc, value in out]
    for svc, docs in by_service.items():  # every event, once, in its service's order
        assert [d for s, ds in decoded if s == svc for d in ds] == docs
    latest = float("-inf")
    for _, docs in decoded:  # the stream goes back in time by less than one slice
        assert min(d["ts"] for d in docs) > latest - slice_s
        latest = max(latest, *(d["ts"] for d in docs))


def decode_docs(value: bytes) -> list[dict]:
    return list(orjson.loads(value))
