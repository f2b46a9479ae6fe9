"""The wire form of ``logs.events``: a JSON array of canonical events of one service.

A plain producer may also send one JSON object. ``decode_event_batch`` gives the events
as dicts (every reader can use it); the built-in consumers decode only what they use:
``decode_fold_batch`` the fields the window fold reads, ``split_event_batch`` each
document's own bytes with its ``event_id`` and ``ts`` (the index agent passes the bytes
to Elasticsearch as they are). All three accept and refuse the same messages.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
import orjson

from app.core.errors import DecodeError, Reason
from app.core.eventdoc import EventDoc, encode_docs
from app.core.windows.stats import FoldEvent, fold_event, ts_epoch


def decode_event_batch(value: bytes) -> list[dict[str, Any]]:
    """Events of one ``logs.events`` message (an array, or one object from a plain producer)."""
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(Reason.MALFORMED_JSON, f"logs.events value: {exc}") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    for item in items:
        if not isinstance(item, dict):
            raise DecodeError(Reason.NOT_AN_OBJECT,
                              f"logs.events item is {type(item).__name__}, not an object")
        if not isinstance(item.get("event_id"), str) or not isinstance(item.get("ts"), str):
            raise DecodeError(Reason.BAD_FIELD, "logs.events item lacks event_id or ts")
    return items


Doc = TypeVar("Doc")


def doc_time(doc: EventDoc) -> float:
    """Epoch seconds of a document's event time (``interleave``'s ``event_time``)."""
    return ts_epoch(doc.ts)


_FOLD_DECODER = msgspec.json.Decoder(list[FoldEvent] | FoldEvent)


def decode_fold_batch(value: bytes) -> list[FoldEvent]:
    """The window-fold fields of a ``logs.events`` message's events.

    Raises the ``DecodeError`` ``decode_event_batch`` would. A message the typed decoder
    refuses (an ``http`` that is not an object, say) is decoded as dicts and converted.
    """
    try:
        _check_utf8(value)
        decoded = _FOLD_DECODER.decode(value)
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return [fold_event(doc) for doc in decode_event_batch(value)]
    return decoded if isinstance(decoded, list) else [decoded]


#: One event of a ``logs.events`` message as ``(event_id, ts, its own JSON bytes on one
#: line)``; the bytes are ``bytes`` or a ``msgspec.Raw`` slice of the message (a plain
#: tuple: a NamedTuple costs more to make than splitting the message does)
RawEvent = tuple[str, str, Any]


class _Ids(msgspec.Struct, gc=False):
    event_id: str
    ts: str


_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_IDS_LIST = msgspec.json.Decoder(list[_Ids])
_IDS_ONE = msgspec.json.Decoder(_Ids)


def split_event_batch(value: bytes) -> list[RawEvent]:
    """The events of a ``logs.events`` message, each as its own bytes, not decoded.

    Raises the ``DecodeError`` ``decode_event_batch`` would. A document spread over
    several lines (a plain producer's pretty-printed JSON) is re-encoded on one line.
    """
    try:
        _check_utf8(value)
        if value.lstrip()[:1] == b"[":
            bodies: list[Any] = _RAW_LIST.decode(value)
            ids = _IDS_LIST.decode(value)
        else:
            bodies, ids = [value.strip()], [_IDS_ONE.decode(value)]
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return [(doc["event_id"], doc["ts"], orjson.dumps(doc))
                for doc in decode_event_batch(value)]
    if b"\n" in value:  # NDJSON: one line per document
        bodies = [orjson.dumps(orjson.loads(bytes(body))) if b"\n" in bytes(body) else body
                  for body in bodies]
    return [(i.event_id, i.ts, body) for i, body in zip(ids, bodies, strict=True)]


def _check_utf8(value: bytes) -> None:
    """Raise ``UnicodeDecodeError`` unless ``value`` is UTF-8: the typed decoders skip
    the fields they do not read without looking into them, ``orjson`` checks them all."""
    if not value.isascii():
        value.decode()


def encode_event_batches(docs: Sequence[Any], max_bytes: int) -> list[bytes]:
    """``docs`` as ``logs.events`` values of at most ``max_bytes`` each, in order.

    One message per service per batch is the aim; a busy service's share is split so
    that no message exceeds the broker's limit. A single event larger than the limit
    still goes out alone (the ingest size limit keeps it far below Kafka's). ``docs`` are
    ``EventDoc`` structs (the parse agent) or dicts.
    """
    blob = encode_docs(docs)
    if len(blob) <= max_bytes or len(docs) <= 1:
        return [blob]
    parts = min(len(docs), len(blob) // max_bytes + 1)
    step = -(-len(docs) // parts)
    out: list[bytes] = []
    for start in range(0, len(docs), step):
        out += encode_event_batches(docs[start:start + step], max_bytes)
    return out


def interleave(by_service: Mapping[str, Sequence[Doc]], event_time: Callable[[Doc], float],
               slice_s: float, max_bytes: int) -> list[tuple[str, bytes]]:
    """A batch's ``logs.events`` messages, ``(service, value)``, in event-time order.

    Windows close on a per-partition watermark (largest event time seen minus a grace
    period), and several services share a partition. Publishing a batch service after
    service would put one service's late-minute events after another's early-minute
    ones, which a batch spanning minutes (a worker catching up on a backlog) turns
    into late events. So each service's events are cut into runs spanning at most
    ``slice_s`` of event time, and the runs of all services are merged by their first
    event time: a partition then goes back in time by at most about ``slice_s`` (plus
    the source's own disorder), which the grace period absorbs. Each service's events
    keep their order, which the windows' replay guard (``app.core.windows.book``) needs.
    """
    runs: list[list[tuple[float, list[Doc]]]] = []
    services = list(by_service)
    for service in services:
        mine: list[tuple[float, list[Doc]]] = []
        current: list[Doc] = []
        first = 0.0
        for doc in by_service[service]:
            ts = event_time(doc)
            if current and not first - slice_s < ts < first + slice_s:
                mine.append((first, current))
                current = []
            if not current:
                first = ts
            current.append(doc)
        if current:
            mine.append((first, current))
        runs.append(mine)
    heap = [(mine[0][0], i, 0) for i, mine in enumerate(runs) if mine]
    heapq.heapify(heap)
    out: list[tuple[str, bytes]] = []
    while heap:
        _, i, j = heapq.heappop(heap)
        service = services[i]
        out += [(service, value) for value in encode_event_batches(runs[i][j][1], max_bytes)]
        if j + 1 < len(runs[i]):
            heapq.heappush(heap, (runs[i][j + 1][0], i, j + 1))
    return out
