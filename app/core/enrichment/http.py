"""``http``: the templated route of a request path, for grouping by endpoint.

``/users/123/orders/9?x=1`` becomes ``/users/{id}/orders/{id}``. A path segment is
replaced when, as a whole, it is

- a number → ``{id}``
- a UUID → ``{uuid}``
- a hex id of 8 or more characters with at least one digit → ``{hash}``
- a base64-ish token of 20 or more characters (upper, lower case and digits, or lower
  case and digits without separators) → ``{hash}``
- an e-mail address (``@`` or ``%40``) → ``{email}``

The query string and fragment are dropped, and an absolute request target
(``http://host/path``) keeps only its path. Templating is idempotent: a placeholder is
never replaced again. The status class is rendered by ``HttpInfo.to_dict``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from app.core.enrichment.options import Options
from app.core.events import LogEvent

_NUMBER = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_TOKEN = re.compile(
    r"(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])(?=[^0-9]*[0-9])[A-Za-z0-9_\-+=.~]{20,}"
    r"|(?=[a-z]*[0-9])[a-z0-9]{20,}"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/]*")
# a whole segment of ASCII digits after a slash (what template_segment makes {id})
_NUMBER_SEGMENT = re.compile(r"(?<=/)[0-9]+(?=/|\Z)")

DEFAULT_CACHE_SIZE = 10_000
MAX_CACHED_PATH = 2048  # longer paths are templated but not kept in the cache


def template_segment(segment: str) -> str:
    if not segment or "{" in segment:
        return segment
    first = segment[0]
    if first.isdigit() and _NUMBER.fullmatch(segment):
        return "{id}"
    if len(segment) == 36 and _UUID.fullmatch(segment):
        return "{uuid}"
    if len(segment) >= 8 and _HEX.fullmatch(segment):
        return "{hash}"
    if ("@" in segment or "%40" in segment) and _EMAIL.fullmatch(segment):
        return "{email}"
    if len(segment) >= 20 and _TOKEN.fullmatch(segment):
        return "{hash}"
    return segment


def strip_path(path: str) -> str:
    """The path alone: no query string, no fragment, no scheme and host."""
    path = path.partition("?")[0].partition("#")[0]
    if "://" in path:
        absolute = _ABSOLUTE.match(path)
        if absolute is not None:
            path = path[absolute.end():] or "/"
    return path


def template_route(path: str) -> str:
    """``/users/123/orders/9?x=1`` → ``/users/{id}/orders/{id}`` (uncached)."""
    return "/".join([template_segment(s) for s in strip_path(path).split("/")])


class HttpEnricher:
    name = "http"

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        by_shape = lru_cache(maxsize=cache_size)(template_route)

        def route_of_new_path(path: str) -> str:
            # ids make most paths new: the path with its number segments already
            # templated has the same route, and that is cached
            return by_shape(_NUMBER_SEGMENT.sub("{id}", path))

        self._route: Callable[[str], str] = lru_cache(maxsize=cache_size)(route_of_new_path)

        def route_of_head(head: str) -> str:
            return by_shape(_NUMBER_SEGMENT.sub("{id}", head) + "/{id}")

        # "/api/orders/59376": a path ending in a number has the route of what comes
        # before that number, plus "/{id}"; keyed by that head, such paths hit the cache
        self._id_route: Callable[[str], str] = lru_cache(maxsize=cache_size)(route_of_head)

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> HttpEnricher:
        opts = Options(cls.name, options)
        enricher = cls(cache_size=opts.positive_int("cache_size", DEFAULT_CACHE_SIZE))
        opts.done()
        return enricher

    def route(self, path: str) -> str:
        # the query string varies far more than the path: strip it before the cache
        path = path.partition("?")[0]
        if len(path) > MAX_CACHED_PATH:
            return template_route(path)
        head, slash, last = path.rpartition("/")
        if slash and last.isdigit() and last.isascii():  # ends in a number segment
            return self._id_route(head)
        return self._route(path)

    def enrich(self, event: LogEvent) -> None:
        http = event.http
        if http is None:
            return
        path = http.path
        if not path or not isinstance(path, str):
            return
        # self.route() inlined: this runs for every access-log event
        if "?" in path:
            path = path.partition("?")[0]
        if len(path) > MAX_CACHED_PATH:
            http.route = template_route(path)
            return
        head, slash, last = path.rpartition("/")
        if slash and last.isdigit() and last.isascii():
            http.route = self._id_route(head)
        else:
            http.route = self._route(path)
