"""Deterministic event ids: a replay of the same Kafka record yields the same id."""

from __future__ import annotations

from hashlib import blake2b

#: (topic, partition) -> BLAKE2b state after ``f"{topic}\x00{partition}\x00"``: copying it
#: skips the hasher's set-up and the prefix per record (a worker owns few partitions)
_PREFIXES: dict[tuple[str, int], blake2b] = {}
_PREFIXES_MAX = 4096
#: ``[(topic, partition, state)]``: the prefix used last (the records of a message, and
#: of a batch, share one partition), one tuple swapped whole
_LAST: list[tuple[str, int, blake2b | None]] = [("", -1, None)]


def event_id(topic: str, partition: int, offset: int, index: int = 0) -> str:
    """Id of record ``index`` of the Kafka message at (topic, partition, offset).

    It becomes the Elasticsearch ``_id``, so re-indexing after a replay overwrites
    the document instead of adding a duplicate. The recipe: the 16-byte BLAKE2b digest,
    in hex, of ``f"{topic}\\x00{partition}\\x00{offset}\\x00{index}"`` in UTF-8.
    """
    last = _LAST[0]
    prefix = last[2] if last[1] == partition and last[0] == topic else None
    if prefix is None:
        prefix = _PREFIXES.get((topic, partition))
        if prefix is None:
            if len(_PREFIXES) >= _PREFIXES_MAX:
                _PREFIXES.clear()
            prefix = _PREFIXES[topic, partition] = blake2b(
                f"{topic}\x00{partition}\x00".encode(), digest_size=16)
        _LAST[0] = (topic, partition, prefix)
    digest = prefix.copy()
    # bytes formatting of two ints: the same digits as the f-string, without the str
    digest.update(b"%d\x00%d" % (offset, index) if type(offset) is int and type(index) is int
                  else f"{offset}\x00{index}".encode())
    return digest.hexdigest()
