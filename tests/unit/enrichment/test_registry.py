"""registry: built-in names, default order, building from config, clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from app.core.enrichment.metadata import ServiceDirectory, ServiceInfo, ServiceMetaEnricher
from app.core.enrichment.registry import (
    DEFAULT_ENRICHERS,
    build_pipeline,
    builtin_enrichers,
    check_pipeline,
)
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.parsing.http_access import HttpAccessParser

APACHE_LINE = (  # FORMATS.md §1, real line from elastic/examples
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-'
    '2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/'
    'logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/'
    '537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"')


def test_every_default_is_registered_and_names_match() -> None:
    factories = builtin_enrichers()
    assert set(DEFAULT_ENRICHERS) == set(factories)
    assert len(set(DEFAULT_ENRICHERS)) == len(DEFAULT_ENRICHERS)


def test_build_default_pipeline_end_to_end() -> None:
    directory = ServiceDirectory({"web": ServiceInfo("web", team="frontend", env="prod")})
    pipeline = build_pipeline(DEFAULT_ENRICHERS, {
        "service_meta": {"directory": directory},
        "service": {"host_patterns": [[r"^(?P<svc>[a-z]+)-\d+$", "{svc}"]]},
    })
    assert pipeline.names == list(DEFAULT_ENRICHERS)
    meta = pipeline.get("service_meta")
    assert isinstance(meta, ServiceMetaEnricher) and meta.directory is directory

    ctx = RecordContext(event_id="e1", observed_ts=0.0, service=None, source_name="web-3")
    event = HttpAccessParser().parse(APACHE_LINE, ctx)
    assert event.service == "web-3"  # the parser fell back to the source name
    pipeline.run(event)
    doc = event.to_doc()
    assert doc["service"] == "web" and doc["env"] == "prod"
    assert doc["service_meta"] == {"team": "frontend"}
    assert doc["http"]["route"] == (
        "/presentations/logstash-monitorama-2013/images/kibana-search.png")
    assert doc["http"]["ua"] == {"family": "Chrome", "os": "Mac OS X", "device": "Mac"}
    assert doc["http"]["status_class"] == "2xx"
    assert doc["geo"] == {"country": "RU"}
    assert doc["severity_number"] == 9 and doc["is_error"] is False
    assert len(doc["template_id"]) == 16


def test_order_and_subset_follow_the_names() -> None:
    pipeline = build_pipeline(["template", "http"], {"template": {"store_template": True}})
    assert pipeline.names == ["template", "http"]


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown enricher\(s\) 'geo', 'ua'; known: extract"):
        build_pipeline(["http", "geo", "ua"], {})


def test_options_for_an_enricher_not_in_the_pipeline_are_an_error() -> None:
    with pytest.raises(ValueError, match="not in the pipeline: 'templat'"):
        build_pipeline(["http"], {"templat": {"store_template": True}})


def test_invalid_option_fails_at_build_time() -> None:
    with pytest.raises(ValueError, match=r"extractors\[0\]: invalid regex"):
        build_pipeline(["extract"], {"extract": {"extractors": [{"program": "x",
                                                                 "regex": "(?P<a>"}]}})


def test_a_string_is_not_a_list_of_names() -> None:
    with pytest.raises(ValueError, match="must be a list"):
        build_pipeline("http", {})


def test_custom_factories() -> None:
    class Tagger:
        name = "tagger"

        def __init__(self, tag: str) -> None:
            self.tag = tag

        def enrich(self, event: LogEvent) -> None:
            event.attrs["tag"] = self.tag

    def make(options: Mapping[str, Any] | None) -> Tagger:
        return Tagger(str((options or {}).get("tag", "none")))

    pipeline = build_pipeline(["tagger"], {"tagger": {"tag": "t1"}},
                              factories={"tagger": make})
    event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m")
    pipeline.run(event)
    assert event.attrs == {"tag": "t1"}


def test_check_pipeline_validates_without_loading_databases(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import app.core.enrichment.geoip as geoip
    import app.core.enrichment.useragent as useragent

    def boom(*args: object) -> None:
        raise AssertionError("check_pipeline must not load a database")

    monkeypatch.setattr(geoip, "geoip2fast_lookup", boom)
    monkeypatch.setattr(useragent, "make_parser", boom)
    check_pipeline(DEFAULT_ENRICHERS, {"geoip": {"trust_forwarded_for": True},
                                       "useragent": {"cache_size": 10}})
    with pytest.raises(ValueError, match="enricher 'geoip': unknown option"):
        check_pipeline(["geoip"], {"geoip": {"db": "x"}})
    with pytest.raises(ValueError, match="must be >= 1"):
        check_pipeline(["useragent"], {"useragent": {"cache_size": 0}})
    with pytest.raises(ValueError, match="unknown enricher"):
        check_pipeline(["nope"], {})
    with pytest.raises(ValueError, match=r"extractors\[0\]"):
        check_pipeline(["extract"], {"extract": {"extractors": [{"regex": "(?P<a>x)"}]}})
