"""A NAIVE Faust log pipeline, the side-by-side baseline of ``bench_pipeline.py``.

What a first Faust implementation of logwarden's job would look like, as the issue
defines it: **one event per agent iteration, one table write per event, one
Elasticsearch index call per event**.

* reads the same ``logs.raw`` input: one record per message, and the batch messages our
  producers send (``lw-batch`` header), which it simply loops over record by record;
* parses and enriches with logwarden's own catalog and pipeline (``app.wiring``,
  ``app.core.ingest.ingest_message``), so event documents and ``event_id`` values are
  the ones the real worker makes and only the *pipeline shape* differs;
* keeps per-service one-minute event counts in a Faust tumbling windowed table, in event
  time (one ``table[service] += 1``, hence one changelog record, per event);
* indexes every event with its own awaited ``AsyncElasticsearch.index`` call, into the
  daily indices behind its own alias (``elasticsearch.index_prefix``, the same index
  template as logwarden's, so Elasticsearch does the same work per document);
* drops dead letters after counting them (no DLQ topic, no ``logs.events`` hop).

Configuration is logwarden's (``LOGWARDEN_...`` environment variables): Kafka, topics,
Elasticsearch URL and prefix, ``worker.app_id`` (the consumer group and the prefix of the
changelog topic), ``worker.datadir``, ``kafka.partitions`` (the changelog's partition
count must match ``logs.raw``'s).

Run: ``.venv/bin/python bench/naive_pipeline.py worker -l warn --without-web``
(``bench_pipeline.py --subjects naive`` starts it with isolated settings).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

import faust
from elasticsearch import AsyncElasticsearch

from app import wiring
from app.core.eventdoc import as_dict
from app.core.indexing import daily_index, index_template
from app.core.ingest import RawMessage, ingest_message
from app.core.windows.stats import event_time
from app.settings import load_settings

log = logging.getLogger("naive_pipeline")
settings = load_settings()

app = faust.App(
    settings.worker.app_id,
    broker=settings.kafka.broker_url,
    store="memory://",
    datadir=str(settings.worker.datadir),
    topic_partitions=settings.kafka.partitions,
    topic_replication_factor=settings.kafka.replication_factor,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    autodiscover=False,
)
raw_topic = app.topic(settings.topics.raw, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw", allow_empty=True)

#: Event time of the record being counted: the windowed table asks for it per write.
_record_ts = [0.0]
# ``relative_to(callable)`` exists on the wrapper, not on faust's WindowWrapperT interface
counts = cast(Any, app.Table("service-minute-counts", default=int)
              .tumbling(60.0, expires=timedelta(hours=1))).relative_to(
                  lambda _event: _record_ts[0])


def to_raw_message(event: Any) -> RawMessage:
    msg = event.message
    headers: dict[str, str] = {}
    for key, value in (msg.headers.items() if isinstance(msg.headers, dict)
                       else msg.headers or []):
        headers[str(key)] = (value.decode("utf-8", "replace") if isinstance(value, bytes)
                             else str(value))
    return RawMessage(value=event.value or b"", key=event.key, headers=headers,
                      topic=msg.topic, partition=msg.partition, offset=msg.offset,
                      timestamp=msg.timestamp)


@app.agent(raw_topic, name="naive")
async def naive(stream: Any) -> None:
    detector = wiring.detector(settings)
    enrich = wiring.enrichment(settings).run
    limits = wiring.ingest_limits(settings)
    es_settings = settings.elasticsearch
    prefix = es_settings.index_prefix
    es = AsyncElasticsearch(es_settings.url, request_timeout=es_settings.request_timeout_s)
    await es.indices.put_index_template(
        name=prefix, **index_template(prefix, shards=es_settings.shards,
                                      replicas=es_settings.replicas))
    dropped = 0
    try:
        async for event in stream.events():  # one Kafka message per iteration
            result = ingest_message(to_raw_message(event), detector, limits, enrich=enrich)
            for service, structs in result.by_service.items():
                for doc in map(as_dict, structs):
                    _record_ts[0] = event_time(doc)
                    counts[service] += 1  # one windowed-table write per event
                    await es.index(index=daily_index(prefix, doc), id=doc["event_id"],
                                   document=doc)  # one index call per event
            if result.dead_letters:
                dropped += len(result.dead_letters)
                log.warning("naive: %d dead letters dropped so far", dropped)
    finally:
        await es.close()


if __name__ == "__main__":
    app.main()
