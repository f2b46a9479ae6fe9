"""geoip: public addresses only, geoip2fast's bundled database, cache, forwarded-for."""

from __future__ import annotations

import os

import pytest

from app.core.enrichment.geoip import GeoIpEnricher, public_address
from app.core.events import GeoInfo, HttpInfo, LogEvent


@pytest.fixture(scope="module")
def enricher() -> GeoIpEnricher:
    return GeoIpEnricher()  # loads the real bundled database once (~0.3 s)


def make_event(client_ip: str | None = None, **attrs: object) -> LogEvent:
    return LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m",
                    http=HttpInfo(client_ip=client_ip) if client_ip is not None else None,
                    attrs=dict(attrs))


@pytest.mark.parametrize(("ip", "country"), [
    ("83.149.9.216", "RU"),  # FORMATS.md §1 sample line
    ("8.8.8.8", "US"),
    ("2001:4860:4860::8888", "US"),  # IPv6 (Google DNS)
    ("2a03:2880:f003:c07:face:b00c::2", "US"),
    ("::ffff:8.8.8.8", "US"),  # IPv4-mapped IPv6
    ("[2001:4860:4860::8888]:443", "US"),
])
def test_public_addresses(enricher: GeoIpEnricher, ip: str, country: str) -> None:
    event = make_event(ip)
    enricher.enrich(event)
    assert event.geo == GeoInfo(country=country, city=None)  # bundled DB: no cities


@pytest.mark.parametrize("ip", [
    "10.0.0.1", "192.168.1.20", "172.16.5.4", "127.0.0.1", "::1", "fe80::1", "fd00::1",
    "100.64.0.1", "192.0.2.1", "2001:db8::1", "224.0.0.1", "0.0.0.0", "",
    "not-an-ip", "999.1.1.1", "example.com", "1.2.3.4.5",
])
def test_private_reserved_and_invalid_get_no_geo(enricher: GeoIpEnricher, ip: str) -> None:
    event = make_event(ip)
    enricher.enrich(event)
    assert event.geo is None


def test_source_ip_attr_when_there_is_no_http(enricher: GeoIpEnricher) -> None:
    event = make_event(None, source_ip="83.149.9.216")  # e.g. from an sshd line
    enricher.enrich(event)
    assert event.geo == GeoInfo(country="RU")


def test_forwarded_for_only_when_trusted() -> None:
    countries = {"8.8.8.8": ("US", None), "83.149.9.216": ("RU", "Moscow")}
    trusting = GeoIpEnricher(trust_forwarded_for=True, lookup=countries.get)
    event = make_event("10.0.0.7", forwarded_for="83.149.9.216, 10.0.0.2")
    trusting.enrich(event)
    assert event.geo == GeoInfo(country="RU", city="Moscow")
    event = make_event("10.0.0.7", forwarded_for="83.149.9.216")
    GeoIpEnricher(lookup=countries.get).enrich(event)
    assert event.geo is None


def test_lookups_are_cached_by_address() -> None:
    calls: list[str] = []

    def lookup(ip: str) -> tuple[str, str | None] | None:
        calls.append(ip)
        return ("US", None)

    enricher = GeoIpEnricher(lookup=lookup, cache_size=4)
    for _ in range(3):
        enricher.enrich(make_event("8.8.8.8"))
        enricher.enrich(make_event("10.0.0.1"))
    assert calls == ["8.8.8.8"]  # private addresses never reach the lookup


def test_public_address_normalises() -> None:
    assert public_address(" 8.8.8.8 ") == "8.8.8.8"
    assert public_address("2001:4860:4860:0:0:0:0:8888") == "2001:4860:4860::8888"
    assert public_address("::ffff:8.8.8.8") == "8.8.8.8"
    assert public_address("10.1.1.1") is None


def test_loading_does_not_leak_geoip2fast_env_changes() -> None:
    before = {k: os.environ.get(k) for k in ("PYTHONWARNINGS", "PYTHONIOENCODING")}
    GeoIpEnricher(database="geoip2fast.dat.gz")  # IPv4-only bundled database
    assert {k: os.environ.get(k) for k in before} == before


def test_config() -> None:
    with pytest.raises(ValueError, match="unknown option"):
        GeoIpEnricher.from_config({"db": "x"})
    with pytest.raises(ValueError, match="must be bool"):
        GeoIpEnricher.from_config({"trust_forwarded_for": "yes"})


def test_cached_lookups_equal_uncached_ones() -> None:
    """The dict in front of the LRU cache (emptied when full): addresses repeated, public
    and not, long ones, forwarded-for, against the lookup called every time."""
    import random

    def lookup(ip: str) -> tuple[str, str | None] | None:
        return None if ip.endswith("7") else (ip[:2].upper(), ip[-1] if ip[-1] > "4" else None)

    rng = random.Random(6)
    ips = [f"{rng.randrange(1, 224)}.{rng.randrange(256)}.0.{rng.randrange(256)}"
           for _ in range(60)]
    ips += ["10.0.0.1", "", "-", "not an ip", "8.8.8.8" + " " * 70, "2001:4860::1"]
    for cache_size, trust in ((1, False), (5, True), (10_000, True)):
        cached = GeoIpEnricher(cache_size=cache_size, trust_forwarded_for=trust,
                               lookup=lookup)
        for _ in range(2_000):
            ip = rng.choice(ips)
            attrs = {"forwarded_for": rng.choice(ips)} if rng.random() < 0.5 else {}
            event = make_event(ip, **attrs)
            fresh = make_event(ip, **attrs)
            cached.enrich(event)
            GeoIpEnricher(trust_forwarded_for=trust, lookup=lookup).enrich(fresh)
            assert event == fresh, (ip, attrs)
        assert len(cached._seen) <= cache_size
