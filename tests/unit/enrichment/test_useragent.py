"""useragent: real UA strings through ua-parser, the cache, and the skip rules."""

from __future__ import annotations

import pytest

from app.core.enrichment.useragent import UserAgentEnricher
from app.core.events import HttpInfo, LogEvent, UserAgentInfo

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")
CHROME_MAC_2015 = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, "
                   "like Gecko) Chrome/32.0.1700.77 Safari/537.36")  # FORMATS.md §1
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36")
CURL = "curl/8.4.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


@pytest.fixture(scope="module")
def enricher() -> UserAgentEnricher:
    return UserAgentEnricher()


@pytest.mark.parametrize(("ua", "expected"), [
    (CHROME_WIN, UserAgentInfo("Chrome", "Windows", "Other")),
    (CHROME_MAC_2015, UserAgentInfo("Chrome", "Mac OS X", "Mac")),
    (FIREFOX_LINUX, UserAgentInfo("Firefox", "Linux", "Other")),
    (IPHONE_SAFARI, UserAgentInfo("Mobile Safari", "iOS", "iPhone")),
    (ANDROID_CHROME, UserAgentInfo("Chrome Mobile", "Android", "Pixel 8")),
    (CURL, UserAgentInfo("curl", "Other", "Other")),
    (GOOGLEBOT, UserAgentInfo("Googlebot", "Other", "Spider")),
    (BINGBOT, UserAgentInfo("bingbot", "Other", "Spider")),
    ("totally custom client", UserAgentInfo("Other", "Other", "Other")),
])
def test_real_user_agents(enricher: UserAgentEnricher, ua: str,
                          expected: UserAgentInfo) -> None:
    event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m",
                     http=HttpInfo(user_agent=ua))
    enricher.enrich(event)
    assert event.http is not None and event.http.ua == expected
    assert event.http.to_dict()["ua"]["family"] == expected.family


@pytest.mark.parametrize("http", [None, HttpInfo(), HttpInfo(user_agent=""),
                                  HttpInfo(user_agent="-")])
def test_missing_user_agent_is_not_a_failure(enricher: UserAgentEnricher,
                                             http: HttpInfo | None) -> None:
    event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m", http=http)
    enricher.enrich(event)
    assert event.http is None or event.http.ua is None


def test_cache_by_string_and_a_fresh_object_per_event() -> None:
    calls: list[str] = []

    def fake(ua: str) -> tuple[str, str, str]:
        calls.append(ua)
        return ("F", "O", "D")

    enricher = UserAgentEnricher(cache_size=10, max_length=8, parse=fake)
    first, second = enricher.parse("abcdefghij-1"), enricher.parse("abcdefghij-2")
    assert calls == ["abcdefgh"]  # cut at max_length, then cached
    assert first == second and first is not second


def test_config() -> None:
    enricher = UserAgentEnricher.from_config({"cache_size": 3, "max_length": 100})
    assert enricher.max_length == 100
    assert enricher._parse.cache_info().maxsize == 3  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown option"):
        UserAgentEnricher.from_config({"cache": 3})


def test_cached_parses_equal_uncached_ones() -> None:
    """The dict in front of the LRU cache (emptied when full) against a parse per event:
    repeated and long strings, small caches."""
    import random

    def fake(ua: str) -> tuple[str, str, str]:
        return (ua[:3], ua[-2:], str(len(ua)))

    rng = random.Random(7)
    uas = [f"agent/{rng.randrange(40)}" + "x" * rng.randrange(0, 30) for _ in range(50)]
    uas += ["-", "", '"-"']
    for cache_size, max_length in ((1, 512), (4, 512), (10_000, 12)):
        cached = UserAgentEnricher(cache_size=cache_size, max_length=max_length, parse=fake)
        for _ in range(2_000):
            ua = rng.choice(uas)
            event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="m",
                             http=HttpInfo(user_agent=ua))
            cached.enrich(event)
            assert event.http is not None
            if ua in ("-", "", '"-"'):
                assert event.http.ua is None
            else:
                assert event.http.ua == UserAgentInfo(*fake(ua[:max_length]))
        assert len(cached._seen) <= cache_size
