"""service: naming the service from attrs, the source mapping or host patterns."""

from __future__ import annotations

import pytest

from app.core.enrichment.service import ServiceEnricher
from app.core.events import LogEvent


def make_event(**fields: object) -> LogEvent:
    base: dict[str, object] = {"event_id": "e1", "ts": 0.0, "observed_ts": 0.0,
                               "service": "unknown", "message": "hello"}
    base.update(fields)
    return LogEvent(**base)  # type: ignore[arg-type]


ENRICHER = ServiceEnricher(
    sources={"edge-lb": "gateway", "db-host-7": "postgres"},
    host_patterns=[(r"^(?P<svc>[a-z-]+)-\d+$", "{svc}"),
                   (r"^ip-\d+-\d+-\d+-\d+\.(?P<region>[a-z0-9-]+)\.compute", "ec2-{region}")],
)


@pytest.mark.parametrize(("fields", "service"), [
    # 1. a field of the event
    ({"attrs": {"service": "billing"}}, "billing"),
    ({"attrs": {"app": "checkout"}}, "checkout"),
    ({"attrs": {"application": "search"}}, "search"),
    ({"attrs": {"kubernetes.labels.app": "cart"}}, "cart"),
    ({"attrs": {"kubernetes": {"labels": {"app": "cart"}}}}, "cart"),
    ({"attrs": {"service": "  ", "app": "fallback"}}, "fallback"),  # blank is no name
    ({"attrs": {"service": 42, "app": "typed"}}, "typed"),  # not a string: ignored
    # 2. the source mapping
    ({"source_name": "edge-lb"}, "gateway"),
    ({"source_name": "edge-lb", "service": "edge-lb"}, "gateway"),  # service == source
    # 3. host patterns, on host then source name
    ({"host": "api-12"}, "api"),
    ({"host": "order-worker-3"}, "order-worker"),
    ({"source_name": "payments-2"}, "payments"),
    ({"host": "ip-10-0-0-1.eu-west-1.compute.internal"}, "ec2-eu-west-1"),
    # attrs beat mapping beat patterns
    ({"attrs": {"app": "a"}, "source_name": "edge-lb", "host": "api-1"}, "a"),
    ({"source_name": "db-host-7", "host": "api-1"}, "postgres"),
    # nothing found: unchanged
    ({"host": "weird_host"}, "unknown"),
    ({"source_name": "mystery", "service": "mystery"}, "mystery"),
    ({"service": ""}, "unknown"),
])
def test_resolution_table(fields: dict[str, object], service: str) -> None:
    event = make_event(**fields)
    ENRICHER.enrich(event)
    assert event.service == service


def test_a_service_the_parser_found_is_kept() -> None:
    event = make_event(service="orders", attrs={"app": "other"}, host="api-1")
    ENRICHER.enrich(event)
    assert event.service == "orders"


def test_config_shapes_and_errors() -> None:
    enricher = ServiceEnricher.from_config({
        "sources": {"lb": "gateway"},
        "host_patterns": [[r"^(?P<svc>\w+)-\d+$", "{svc}"],
                          {"regex": r"^(?P<a>\w+)\.(?P<b>\w+)$", "template": "{b}-{a}"}],
        "fields": ["team_app"],
    })
    event = make_event(host="web.prod")
    enricher.enrich(event)
    assert event.service == "prod-web"
    event = make_event(attrs={"team_app": "x", "service": "ignored"})
    enricher.enrich(event)
    assert event.service == "x"

    with pytest.raises(ValueError, match=r"host pattern #0: invalid regex"):
        ServiceEnricher.from_config({"host_patterns": [["(unclosed", "{svc}"]]})
    with pytest.raises(ValueError, match=r"host pattern #1: template '\{name\}' uses 'name'"):
        ServiceEnricher.from_config({"host_patterns": [["^(?P<svc>a)$", "{svc}"],
                                                       ["^(?P<svc>b)$", "{name}"]]})
    with pytest.raises(ValueError, match=r"uses 'svc\.__class__'"):
        ServiceEnricher.from_config({"host_patterns": [["^(?P<svc>a)$", "{svc.__class__}"]]})
    with pytest.raises(ValueError, match=r"host_patterns\[0\] must be"):
        ServiceEnricher.from_config({"host_patterns": ["^(?P<svc>a)$"]})
    with pytest.raises(ValueError, match="sources must map"):
        ServiceEnricher.from_config({"sources": {"a": 1}})
    with pytest.raises(ValueError, match="unknown option"):
        ServiceEnricher.from_config({"host_pattern": []})


def test_runs_if_is_false_only_where_enrich_changes_nothing() -> None:
    """The service named after the source (an access line keyed by its host), no attrs:
    runs_if is false without sources or host patterns, and enrich then does nothing."""
    import copy
    import itertools

    services = ["", "unknown", "web-1", "api", "edge-lb", "db-host-7"]
    sources = [None, "", "web-1", "edge-lb", "db-host-7", "api"]
    hosts = [None, "", "web-1", "ip-10-0-0-1.eu-west-1.compute"]
    attrs: list[dict[str, object]] = [{}, {"x": 1}, {"service": "billing"}, {"app": " "}]
    enrichers = [ENRICHER, ServiceEnricher(), ServiceEnricher(sources={"edge-lb": "gw"}),
                 ServiceEnricher(host_patterns=[(r"^(?P<svc>[a-z-]+)-\d+$", "{svc}")])]
    skipped = 0
    for enricher, service, source, host, extra in itertools.product(
            enrichers, services, sources, hosts, attrs):
        event = make_event(service=service, source_name=source, host=host,
                           attrs=dict(extra))
        if eval(enricher.runs_if, {"event": event, "self": enricher}):
            continue
        skipped += 1
        before = copy.deepcopy(event)
        enricher.enrich(event)
        assert event == before, (service, source, host, extra)
    assert skipped > 100
