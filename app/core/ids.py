"""Deterministic event ids: a replay of the same Kafka record yields the same id."""

from __future__ import annotations

from hashlib import blake2b


def event_id(topic: str, partition: int, offset: int, index: int = 0) -> str:
    """Id of record ``index`` of the Kafka message at (topic, partition, offset).

    It becomes the Elasticsearch ``_id``, so re-indexing after a replay overwrites
    the document instead of adding a duplicate.
    """
    digest = blake2b(f"{topic}\x00{partition}\x00{offset}\x00{index}".encode(), digest_size=16)
    return digest.hexdigest()
