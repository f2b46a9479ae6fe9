"""``/search`` (the page) and ``GET /api/v1/logs`` (JSON), one query language for both.

Query text is checked by ``app.core.query`` before anything reaches Elasticsearch; a
mistake is shown as its message with the column ("unexpected ')' at column 14"), never
a stack trace. Field filters (facet clicks, ``f=service:"auth"``) are separate clauses
ANDed to the query, so error columns always refer to the text the user typed.
"""

from __future__ import annotations

import time
from typing import Any, cast
from urllib.parse import urlencode

import orjson
from aiohttp import web as aioweb
from faust.web import Request, View

from app.adapters.search import MAX_WINDOW, SearchError, SearchPage, SearchRejected
from app.core.query import QueryError, parse
from app.core.query.ast import And, MatchAll, Node
from app.core.query.to_es import to_es
from app.core.tokens import Scope
from app.faust_app import app
from web.auth import Role, require
from web.deps import authenticate, problem
from web.pages.clients import search_backend
from web.pages.setup import render
from web.pages.timerange import PRESETS, RangeError, TimeRange, iso, parse_range

PAGE_SIZE = 50
API_MAX_SIZE = 500
MAX_FILTERS = 20


def combined(text: str, filters: list[str]) -> Node:
    """The query and its filters, ANDed; ``QueryError`` names the part that is wrong."""
    nodes = [parse(text)]
    for number, extra in enumerate(filters, 1):
        try:
            nodes.append(parse(extra))
        except QueryError as exc:
            raise QueryError(f"filter {number} ({extra!r}): {exc.message}", exc.column,
                             exc.hint) from None
    nodes = [n for n in nodes if not isinstance(n, MatchAll)]
    if not nodes:
        return MatchAll()
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _int(raw: str | None, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def facet_filter(field: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'


@app.page("/search")
class SearchView(View):
    async def get(self, request: Request) -> aioweb.Response:
        require(request, Role.VIEWER)
        query = cast(aioweb.Request, request).query
        text = query.get("q", "")
        filters = [f for f in query.getall("f", []) if f.strip()][:MAX_FILTERS]
        page = max(1, _int(query.get("page"), 1) or 1)
        context: dict[str, Any] = {
            "q": text, "filters": filters, "page": page, "presets": list(PRESETS),
            "range": query.get("range", ""), "from_": query.get("from", ""),
            "to": query.get("to", ""), "error": None, "error_column": 0, "result": None,
            "size": PAGE_SIZE, "max_page": MAX_WINDOW // PAGE_SIZE,
        }
        now = time.time()
        try:
            span = parse_range(query, now)
            context.update({"since": iso(span.since), "until": iso(span.until),
                            "range": span.preset or ""})
            node = combined(text, filters)
        except RangeError as exc:
            context["error"] = f"time range: {exc}"
            return render(request, "search.html", context, active="search", status=400)
        except QueryError as exc:
            context.update(error=str(exc), error_column=exc.column)
            return render(request, "search.html", context, active="search", status=400)
        try:
            result = await search_backend().search(to_es(node), span.since, span.until,
                                                   size=PAGE_SIZE, page=page)
        except SearchError as exc:
            context["error"] = str(exc)
            status = 400 if isinstance(exc, SearchRejected) else 503
            return render(request, "search.html", context, active="search", status=status)
        context["result"] = _page_view(result, text, filters, span)
        return render(request, "search.html", context, active="search")


def _page_view(result: SearchPage, text: str, filters: list[str],
               span: TimeRange) -> dict[str, Any]:
    base: list[tuple[str, str]] = [("q", text)] + [("f", f) for f in filters]
    if span.preset:
        base.append(("range", span.preset))
    else:
        base += [("from", iso(span.since)), ("to", iso(span.until))]

    def link(**change: Any) -> str:
        params = list(base)
        if "add" in change:
            params.append(("f", change["add"]))
        if "drop" in change:
            params = [p for p in params if p != ("f", change["drop"])]
        if "page" in change:
            params.append(("page", str(change["page"])))
        return "/search?" + urlencode(params)

    pages = max(1, min(-(-result.total // PAGE_SIZE), MAX_WINDOW // PAGE_SIZE))
    facets = {name: [(value, count, link(add=facet_filter(_facet_field(name), value)))
                     for value, count in values]
              for name, values in result.facets.items() if values}
    return {
        "total": result.total, "exact": result.total_is_exact, "took_ms": result.took_ms,
        "hits": [{"id": h["_id"], "index": h["_index"], "doc": h["source"],
                  "json": orjson.dumps(h["source"], option=orjson.OPT_INDENT_2
                                       | orjson.OPT_SORT_KEYS).decode()}
                 for h in result.hits],
        "histogram": {"t": [t for t, _ in result.histogram],
                      "n": [n for _, n in result.histogram], "interval_s": result.interval_s},
        "facets": facets, "pages": pages,
        "drop_links": [(f, link(drop=f)) for f in filters],
        "page_link": lambda number: link(page=number),
    }


def _facet_field(name: str) -> str:
    return {"level": "severity_text", "status": "status_class"}.get(name, name)


def _bad(name: str, reason: str, **extra: Any) -> aioweb.Response:
    return problem(400, "Bad Request", f"invalid query parameter {name!r}: {reason}",
                   **{"invalid-params": [{"name": name, "reason": reason, **extra}]})


@app.page("/api/v1/logs")
class LogsApi(View):
    """``GET /api/v1/logs?q=&from=&to=&size=&page=``: hits newest first, with the total."""

    async def get(self, request: Request) -> aioweb.Response:
        denied = await authenticate(request, Scope.READ)
        if isinstance(denied, aioweb.Response):
            return denied
        query = request.query
        size = _int(query.get("size"), PAGE_SIZE)
        if size is None or not 1 <= size <= API_MAX_SIZE:
            return _bad("size", f"must be an integer from 1 to {API_MAX_SIZE}")
        page = _int(query.get("page"), 1)
        if page is None or page < 1:
            return _bad("page", "must be an integer from 1")
        if page * size > MAX_WINDOW:
            return _bad("page", f"page * size may be at most {MAX_WINDOW}; narrow the query "
                                "or the time range")
        text = query.get("q", "")
        try:
            span = parse_range(query, time.time())
        except RangeError as exc:
            return _bad(exc.param, exc.reason)
        try:
            node = parse(text)
        except QueryError as exc:
            return _bad("q", str(exc), column=exc.column)
        try:
            result = await search_backend().search(to_es(node), span.since, span.until,
                                                   size=size, page=page, facets=False)
        except SearchRejected as exc:
            return _bad("q", str(exc))
        except SearchError as exc:
            return problem(503, "Service Unavailable", str(exc))
        body = {
            "query": text, "from": iso(span.since), "to": iso(span.until),
            "page": page, "size": size, "total": result.total,
            "total_exact": result.total_is_exact,
            "hits": [{"_id": h["_id"], **h["source"]} for h in result.hits],
        }
        return aioweb.Response(body=orjson.dumps(body), content_type="application/json")
