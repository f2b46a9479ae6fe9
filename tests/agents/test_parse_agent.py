"""The parse stage on chunks of ``logs.raw`` records (no broker: sends are captured).

The batch consumer that feeds it runs on the real Kafka in ``test_batch_consumer.py``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from agents.parse import ParseStage, to_raw_message
from app import wiring
from app.batch_consumer import chunks
from app.faust_app import settings
from tests.agents.conftest import Captured


def record(value: bytes, *, key: bytes | None = None, offset: int = 0, partition: int = 0,
           headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic=settings.topics.raw, partition=partition, offset=offset,
                          timestamp=1_765_000_000_123, timestamp_type=0, key=key, value=value,
                          checksum=None, serialized_key_size=0, serialized_value_size=0,
                          headers=headers or [])


def stage() -> ParseStage:
    return ParseStage(wiring.detector(settings), wiring.ingest_limits(settings), None)


async def test_events_go_out_by_service_and_bad_lines_to_the_dlq(
        fapp: Any, sent: dict[str, Captured]) -> None:
    batch = b'{"service":"auth","msg":"a"}\n{"service":"search","msg":"b"}\n{"oops":\n'
    await stage().handle([record(batch, key=b"host-1", headers=[("lw-batch", b"lines")]),
                          record(b"\xff\xfe", key=b"host-2", offset=1)])

    keys = sorted(c["key"] for c in sent["events"].calls)
    assert keys == [b"auth", b"search"]
    letters = [orjson.loads(c["value"]) for c in sent["dlq"].calls]
    assert sorted((d["stage"], d["reason"]) for d in letters) == [
        ("decode", "undecodable"), ("parse", "malformed_json")]
    assert all(c["key"] in (b"decode", b"parse") for c in sent["dlq"].calls)
    assert {(d["source"]["offset"], d["source"]["index"]) for d in letters} == {(0, 2), (1, 0)}


def test_a_record_as_the_core_takes_it() -> None:
    raw = to_raw_message(record(b"x", key=b"k", offset=7, partition=3,
                                headers=[("format", b"json"), ("bad", b"\xff")]))
    assert (raw.value, raw.key, raw.partition, raw.offset) == (b"x", b"k", 3, 7)
    assert raw.headers == {"format": "json", "bad": "\ufffd"}
    assert raw.timestamp == 1_765_000_000.123  # Kafka's milliseconds, as seconds
    assert raw.topic == settings.topics.raw


def test_event_ids_are_those_of_the_records_place() -> None:
    from app.core.ids import event_id

    records, result = stage().records([record(b'{"service":"a","msg":"m"}', offset=41,
                                              partition=5)])
    [doc] = result.by_service["a"]
    assert doc.event_id == event_id(settings.topics.raw, 5, 41, 0)
    assert doc.pos == [5, 41, 0]
    assert len(records) == 1


def test_chunks_end_at_the_byte_bound() -> None:
    records = [record(b"x" * size, offset=i) for i, size in enumerate([400, 400, 400, 2000, 10])]
    cut = [[r.offset for r in chunk] for chunk in chunks(records, 1000)]
    assert cut == [[0, 1, 2], [3], [4]]  # the third reaches 1,200; a big one alone
    assert [[r.offset for r in c] for c in chunks(records, 10**6)] == [[0, 1, 2, 3, 4]]
    assert list(chunks([], 1000)) == []
