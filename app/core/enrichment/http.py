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

from app.core.enrichment.base import remember
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
_ASCII_DIGITS = "0123456789"

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
    # enrich()'s first returns, negated (see base.py): no path
    runs_if = "event.http is not None and event.http.path"

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.cache_size = cache_size
        # route by the path with its number segments already templated (a new path has
        # the route of its shape: ids make most paths new)
        self._by_shape: Callable[[str], str] = lru_cache(maxsize=cache_size)(template_route)
        # plain dicts, emptied when full: a hit is one lookup, the common case per event.
        #: path -> route, for paths without a query string that do not end in a number
        #: segment (what the other paths become once their query string is dropped)
        self._paths: dict[str, str] = {}
        #: "/api/orders/" -> route of "/api/orders/<number>": a path ending in a number
        #: segment has the route of what comes before that number, plus "/{id}"; keyed
        #: by that head (with its slash), such paths hit the cache whatever the number
        self._heads: dict[str, str] = {}

    @classmethod
    def from_config(cls, options: Mapping[str, Any] | None) -> HttpEnricher:
        opts = Options(cls.name, options)
        enricher = cls(cache_size=opts.positive_int("cache_size", DEFAULT_CACHE_SIZE))
        opts.done()
        return enricher

    def route(self, path: str) -> str:
        """``template_route(path)``, cached."""
        route = self._paths.get(path)
        return route if route is not None else self._new_route(path)

    def _new_route(self, path: str) -> str:
        """The route of a path the caches did not answer; cached unless the path is long.

        Neither cache holds a key with a query string (a head is a prefix of a path
        without one), so a path with a query string always gets here."""
        if "?" in path:  # the query string varies far more than the path
            path = path.partition("?")[0]
            route = self._paths.get(path)
            if route is not None:
                return route
        if len(path) > MAX_CACHED_PATH:
            return template_route(path)
        head = path.rstrip(_ASCII_DIGITS)
        if len(head) < len(path) and head[-1:] == "/":  # ends in a number segment
            route = self._heads.get(head)
            if route is None:
                route = remember(self._heads, head, self._by_shape(
                    _NUMBER_SEGMENT.sub("{id}", head) + "{id}"), self.cache_size)
            return route
        return remember(self._paths, path, self._by_shape(_NUMBER_SEGMENT.sub("{id}", path)),
                        self.cache_size)

    def enrich(self, event: LogEvent) -> None:
        http = event.http
        if http is None:
            return
        path = http.path
        if not path or (type(path) is not str and not isinstance(path, str)):
            return
        # self.route(), with the lookup of a path ending in a number inlined: this runs
        # for every HTTP event
        route = self._paths.get(path)
        if route is None:
            head = path.rstrip(_ASCII_DIGITS)
            if len(head) < len(path) and head[-1:] == "/":
                route = self._heads.get(head)
            if route is None:
                route = self._new_route(path)
        http.route = route
