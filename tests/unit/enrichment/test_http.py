"""http: route templating (table + properties) and the enricher's cache."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.enrichment.http import HttpEnricher, template_route
from app.core.events import HttpInfo, LogEvent


@pytest.mark.parametrize(("path", "route"), [
    ("/users/123/orders/9", "/users/{id}/orders/{id}"),
    ("/users/123/orders/9?expand=items&page=2", "/users/{id}/orders/{id}"),
    ("/search?q=550e8400-e29b-41d4-a716-446655440000", "/search"),
    ("/docs/page#section-2", "/docs/page"),
    ("/api/v1/items/550e8400-e29b-41d4-a716-446655440000", "/api/v1/items/{uuid}"),
    ("/api/v1/items/550E8400-E29B-41D4-A716-446655440000/", "/api/v1/items/{uuid}/"),
    ("/objects/5f1d7a9c3b2e4a0012345678", "/objects/{hash}"),  # Mongo ObjectId
    ("/commits/3f9a2b1c", "/commits/{hash}"),
    ("/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/blobs/{hash}"),  # SHA-1
    ("/reset/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "/reset/{hash}"),  # base64url token
    ("/s/k3j5h6g7f8d9s0a1q2w3e4r5", "/s/{hash}"),
    ("/users/alice@example.com/profile", "/users/{email}/profile"),
    ("/users/alice%40example.co.uk", "/users/{email}"),
    ("http://example.com:8080/a/1?q=2", "/a/{id}"),  # absolute request target (proxies)
    ("https://example.com", "/"),
    ("/2015/05/17/post-title", "/{id}/{id}/{id}/post-title"),
    # left alone: words, slugs, versions, short hex-looking words, assets
    ("/presentations/logstash-monitorama-2013/images/kibana-search.png",
     "/presentations/logstash-monitorama-2013/images/kibana-search.png"),
    ("/blog/how-to-install-python-3-11-on-debian", "/blog/how-to-install-python-3-11-on-debian"),
    ("/api/v2/feedback/accepted", "/api/v2/feedback/accepted"),
    ("/deadbeef/cafe", "/deadbeef/cafe"),  # hex letters only: words, not ids
    ("/internationalization", "/internationalization"),
    ("/", "/"), ("", ""), ("*", "*"), ("-", "-"), ("//a//1", "//a//{id}"),
    ("/users/{id}/orders/{id}", "/users/{id}/orders/{id}"),
])
def test_route_table(path: str, route: str) -> None:
    assert template_route(path) == route


segments = st.one_of(
    st.integers(0, 10**12).map(str),
    st.uuids().map(str),
    st.binary(min_size=4, max_size=20).map(bytes.hex),
    st.emails(),
    st.from_regex(r"[a-z]{1,12}(-[a-z0-9]{1,6}){0,3}", fullmatch=True),
    st.text(max_size=12),
)
paths = st.lists(segments, max_size=6).map(lambda parts: "/" + "/".join(parts))


@given(st.one_of(paths, st.text()))
def test_templating_a_template_returns_it(path: str) -> None:
    route = template_route(path)
    assert template_route(route) == route


@given(st.text())
def test_templating_never_raises_and_drops_the_query(path: str) -> None:
    route = template_route(path)
    assert "?" not in route and "#" not in route


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=5))
def test_numeric_segments_all_become_id(ids: list[int]) -> None:
    path = "/r" + "".join(f"/x/{i}" for i in ids)
    assert template_route(path) == "/r" + "/x/{id}" * len(ids)


def test_enricher_sets_route_and_caches_by_path_without_query() -> None:
    enricher = HttpEnricher(cache_size=2)
    for query in ("a=1", "a=2", "b=3"):
        event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m",
                         http=HttpInfo(method="GET", path=f"/orders/42?{query}", status=200))
        enricher.enrich(event)
        assert event.http is not None and event.http.route == "/orders/{id}"
        assert event.http.to_dict()["status_class"] == "2xx"
    # a path ending in a number is cached by what comes before the number
    assert enricher._heads == {"/orders/": "/orders/{id}"}
    assert enricher._paths == {}
    for path in ("/orders/42/items?a=1", "/orders/7/items?b=2", "/orders/7/items"):
        event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m",
                         http=HttpInfo(method="GET", path=path, status=200))
        enricher.enrich(event)
        assert event.http is not None and event.http.route == "/orders/{id}/items"
    # other paths by the path without its query string; emptied when full
    assert enricher._paths == {"/orders/42/items": "/orders/{id}/items",
                               "/orders/7/items": "/orders/{id}/items"}
    assert enricher.route("/a") == "/a"
    assert enricher._paths == {"/a": "/a"}


def test_id_suffix_cache_gives_the_uncached_route() -> None:
    """A path ending in a number segment, looked up by its head, has the route
    ``template_route`` gives the whole path (random paths, unicode digits, fragments,
    absolute targets, no slash)."""
    rng = random.Random(7)
    parts = ["api", "users", "123", "0", "9f86d081884c7d65", "a@b.io", "v2", "", "#x",
             "http:", "host:80", "\u0663", "\u00b2", "{id}", "x?y"]
    enricher = HttpEnricher(cache_size=64)
    for _ in range(5000):
        path = "/".join(rng.choice(parts) for _ in range(rng.randint(0, 5)))
        path += rng.choice(["", "/", "/42", "/007", "42", "/\u0663", "/1\u00b2"])
        if rng.random() < 0.3:
            path = "/" + path
        if not path:
            continue
        for _ in range(2):  # uncached, then cached
            event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m",
                             http=HttpInfo(path=path))
            enricher.enrich(event)
            assert event.http is not None
            assert event.http.route == template_route(path) == enricher.route(path), path


def test_enricher_skips_events_without_a_path() -> None:
    enricher = HttpEnricher()
    for http in (None, HttpInfo(status=500), HttpInfo(path="")):
        event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m", http=http)
        enricher.enrich(event)
        assert event.http is None or event.http.route is None


def test_very_long_paths_are_templated_but_not_cached() -> None:
    enricher = HttpEnricher()
    long_path = "/a/1" * 1000
    assert enricher.route(long_path) == "/a/{id}" * 1000
    assert enricher.route(long_path + "/2") == "/a/{id}" * 1000 + "/{id}"
    assert enricher._paths == enricher._heads == {}


def test_config() -> None:
    assert HttpEnricher.from_config({"cache_size": 5}).cache_size == 5
    with pytest.raises(ValueError, match=">= 1"):
        HttpEnricher.from_config({"cache_size": 0})
    with pytest.raises(ValueError, match="unknown option"):
        HttpEnricher.from_config({"size": 5})
