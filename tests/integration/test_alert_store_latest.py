"""``MongoAlertStore.latest_per_alert`` in the real MongoDB-wire server: the web's source of
the current alert state (the newest transition per fingerprint)."""

from __future__ import annotations

import os
import uuid

import pytest
from pymongo import AsyncMongoClient

from app.adapters.alert_store import MongoAlertStore
from app.core.alerting.lifecycle import Transition
from tests.conftest import require_tcp

pytestmark = pytest.mark.integration
URL = os.environ.get("LOGWARDEN_MONGO__URL", "mongodb://127.0.0.1:27017")
T0 = 1_795_000_000.0


def move(fp: str, activation: int, old: str, new: str, at: float) -> dict[str, object]:
    return Transition(rule="r", fingerprint=fp, activation=activation, from_state=old,
                      to_state=new, at=at, labels={"service": fp}, value=1.0, threshold=0.5,
                      peak=1.0, comparison=">", starts_at=at, ends_at=None).to_doc()


async def test_newest_transition_per_alert() -> None:
    require_tcp("MongoDB", URL.split("//", 1)[1].split("/", 1)[0])
    database = f"test_alerts_{uuid.uuid4().hex[:10]}"
    store = MongoAlertStore(URL, database)
    try:
        await store.ensure_indexes()
        await store.record_transitions([
            # "a": for 0 -> pending and firing at the same instant; firing is newer
            move("a", 1, "inactive", "pending", T0), move("a", 1, "pending", "firing", T0),
            # "b": fired, resolved, fires again (activation 2)
            move("b", 1, "inactive", "firing", T0), move("b", 1, "firing", "resolved", T0 + 5),
            move("b", 2, "resolved", "pending", T0 + 9),
            # "c": resolved
            move("c", 1, "inactive", "firing", T0), move("c", 1, "firing", "resolved", T0 + 3),
        ])
        latest = {d["fingerprint"]: (d["activation"], d["to"])
                  for d in await store.latest_per_alert()}
        assert latest == {"a": (1, "firing"), "b": (2, "pending"), "c": (1, "resolved")}
        recent = await store.recent_transitions(limit=2)
        assert [(d["fingerprint"], d["to"]) for d in recent] == [("b", "pending"),
                                                                 ("b", "resolved")]
        assert len(await store.recent_transitions(since=T0 + 1)) == 3
    finally:
        await store.close()
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(URL)
        await client.drop_database(database)
        await client.close()
