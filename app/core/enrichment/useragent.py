"""``useragent``: browser, OS and device family from the User-Agent header (ua-parser).

Parsing is costly with the pure-Python resolver (0.2-1 ms per string on this machine,
more for long junk strings), so results are cached by UA string (LRU, default 10,000
entries; real traffic has few distinct UAs) and strings are cut at ``max_length``
before parsing. Unknown parts are ``"Other"``, ua-parser's convention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import ua_parser

from app.core.enrichment.base import remember
from app.core.enrichment.options import Options
from app.core.events import LogEvent, UserAgentInfo

DEFAULT_CACHE_SIZE = 10_000
DEFAULT_MAX_LENGTH = 512
OTHER = "Other"
_ABSENT = frozenset(("", "-", '"-"'))

UaTuple = tuple[str, str, str]  # family, os, device


def make_parser() -> Callable[[str], UaTuple]:
    """A parser over the regexes of ``ua-parser-builtins``.

    Uses the best resolver installed: ``ua-parser-rs`` (Rust, ~50 us for an unseen
    string) when present, else the pure-Python one (0.2-1 ms). Our own LRU cache sits
    in front of it either way.
    """
    parser = ua_parser.Parser(ua_parser.BestAvailableResolver(ua_parser.load_builtins()))

    def parse(ua: str) -> UaTuple:
        result = parser.parse(ua)
        return (result.user_agent.family if result.user_agent else OTHER,
                result.os.family if result.os else OTHER,
                result.device.family if result.device else OTHER)

    return parse


class UserAgentEnricher:
    name = "useragent"
    # enrich()'s first returns, negated (see base.py): no user agent
    runs_if = "event.http is not None and event.http.user_agent is not None"

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE,
                 max_length: int = DEFAULT_MAX_LENGTH,
                 parse: Callable[[str], UaTuple] | None = None) -> None:
        self.max_length = max_length
        self.cache_size = cache_size
        self._parse: Callable[[str], UaTuple] = lru_cache(maxsize=cache_size)(
            parse or make_parser())
        #: UA string (cut at max_length) -> tuple: a plain dict, emptied when full, in
        #: front of the LRU cache (a hit, the common case per event, is one lookup)
        self._seen: dict[str, UaTuple] = {}

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> UserAgentEnricher:
        return cls(**cls.check_config(options))

    @classmethod
    def check_config(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate the options without compiling the regexes; the constructor's kwargs."""
        opts = Options(cls.name, options)
        kwargs = {"cache_size": opts.positive_int("cache_size", DEFAULT_CACHE_SIZE),
                  "max_length": opts.positive_int("max_length", DEFAULT_MAX_LENGTH)}
        opts.done()
        return kwargs

    def parse(self, ua: str) -> UserAgentInfo:
        if len(ua) > self.max_length:
            ua = ua[:self.max_length]
        # positional: half the cost of keywords on this per-event path
        return UserAgentInfo(*self._parse(ua))

    def enrich(self, event: LogEvent) -> None:
        http = event.http
        if http is None:
            return
        ua = http.user_agent
        if ua is None or (type(ua) is not str and not isinstance(ua, str)) or ua in _ABSENT:
            return
        if len(ua) > self.max_length:
            ua = ua[:self.max_length]
        found = self._seen.get(ua)
        if found is None:
            found = remember(self._seen, ua, self._parse(ua), self.cache_size)
        # a fresh object per event: the cached tuple is shared, the event's copy is not
        http.ua = UserAgentInfo(*found)
