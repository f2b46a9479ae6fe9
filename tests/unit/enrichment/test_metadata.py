"""service_meta: lookup in a swappable ServiceDirectory snapshot."""

from __future__ import annotations

import threading

import pytest

from app.core.enrichment.metadata import ServiceDirectory, ServiceInfo, ServiceMetaEnricher
from app.core.events import LogEvent

CHECKOUT = ServiceInfo("checkout", team="payments", owner="alice", tier="1", env="prod")


def make_event(service: str = "checkout", **fields: object) -> LogEvent:
    return LogEvent(event_id="e", ts=0, observed_ts=0, service=service, message="m",
                    **fields)  # type: ignore[arg-type]


def test_sets_meta_and_env() -> None:
    event = make_event()
    ServiceMetaEnricher(ServiceDirectory({"checkout": CHECKOUT})).enrich(event)
    assert event.service_meta == {"team": "payments", "owner": "alice", "tier": "1"}
    assert event.env == "prod"
    assert event.to_doc()["service_meta"] == event.service_meta


def test_keeps_an_env_the_event_has_and_skips_unknown_services() -> None:
    enricher = ServiceMetaEnricher(ServiceDirectory({"checkout": CHECKOUT}))
    staged = make_event(env="staging")
    enricher.enrich(staged)
    assert staged.env == "staging" and staged.service_meta["team"] == "payments"
    other = make_event("unknown-svc")
    enricher.enrich(other)
    assert other.service_meta == {} and other.env is None


def test_partial_metadata() -> None:
    event = make_event("search")
    ServiceMetaEnricher(ServiceDirectory({"search": ServiceInfo("search", tier="3")})).enrich(
        event)
    assert event.service_meta == {"tier": "3"} and event.env is None


def test_each_event_gets_its_own_dict() -> None:
    enricher = ServiceMetaEnricher(ServiceDirectory({"checkout": CHECKOUT}))
    first, second = make_event(), make_event()
    enricher.enrich(first)
    enricher.enrich(second)
    first.service_meta["team"] = "edited"
    assert second.service_meta["team"] == "payments"


def test_replace_swaps_the_snapshot_and_copies_it() -> None:
    source = {"checkout": CHECKOUT}
    directory = ServiceDirectory(source)
    enricher = ServiceMetaEnricher(directory)
    source["search"] = ServiceInfo("search", team="x")  # later edits of the input don't leak
    assert directory.get("search") is None and len(directory) == 1
    with pytest.raises(TypeError):
        directory.snapshot["x"] = CHECKOUT  # type: ignore[index]

    directory.replace({"checkout": ServiceInfo("checkout", team="billing")})
    event = make_event()
    enricher.enrich(event)
    assert event.service_meta == {"team": "billing"} and event.env is None


def test_readers_never_see_a_half_swapped_snapshot() -> None:
    a = {f"s{i}": ServiceInfo(f"s{i}", team="a") for i in range(50)}
    b = {f"s{i}": ServiceInfo(f"s{i}", team="b") for i in range(50)}
    directory = ServiceDirectory(a)
    stop, mixed = threading.Event(), []

    def swap() -> None:
        while not stop.is_set():
            directory.replace(b)
            directory.replace(a)

    thread = threading.Thread(target=swap)
    thread.start()
    try:
        for _ in range(2000):
            snapshot = directory.snapshot
            teams = {info.team for info in snapshot.values()}
            if len(teams) != 1:
                mixed.append(teams)
    finally:
        stop.set()
        thread.join()
    assert mixed == []


def test_config_takes_a_directory() -> None:
    directory = ServiceDirectory()
    assert ServiceMetaEnricher.from_config({"directory": directory}).directory is directory
    assert len(ServiceMetaEnricher.from_config(None).directory) == 0
    with pytest.raises(ValueError, match="must be a ServiceDirectory"):
        ServiceMetaEnricher.from_config({"directory": {"checkout": CHECKOUT}})
