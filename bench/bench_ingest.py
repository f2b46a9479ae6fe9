"""Parse + enrich throughput per format, against a naive baseline doing the same job.

For each format, the same generated lines go through five subjects, in two pairs that
do equal work, plus one extra row:

* ``naive parse``: what a first implementation would do to *parse* — a named-group regex
  and ``datetime.strptime`` for text formats, stdlib ``json`` + ``strptime`` for JSON
  lines, into a plain dict;
* ``ours parse``: the format's parser from the catalog, without enrichment (the
  canonical event as the parser leaves it);
* ``naive p+e``: ``naive parse`` followed by a straightforward per-line enrichment that
  produces the fields our enrichers produce: a deterministic event id (``hashlib``), the
  service from a field, the severity number from the level text (syslog: from the PRI;
  access logs: from the status), the HTTP status class and ``is_error``, the route
  template (``re.sub`` per line), the user agent (``ua_parser.parse``, the library's
  default top-level API), the country (``geoip2fast``'s ``lookup``, per line), the sshd /
  sudo fields of auth lines (a regex per rule), and the message template id (``re.sub``
  per masked class, then ``hashlib.blake2b``). Libraries are called through their
  default entry points (GeoIP2Fast is given the database our enricher loads, IPv4 and
  IPv6 countries, rather than its IPv4-only default, so both report the same countries);
  the naive code adds no cache of its own;
* ``ours p+e``: the real ingest core for one record — the event id
  (``app.core.ids.event_id``) and ``RecordContext`` per record as ``ingest_message``
  builds them, the format's parser and the default enrichment pipeline (service,
  service_meta, extract, severity, http, useragent, geoip, template);
* ``ours +doc``: ``ours p+e`` plus the canonical document as ``ingest_message`` builds it
  (``app.core.eventdoc.event_doc``: what is encoded to Kafka and indexed into ES);
  compared with ``naive p+e``, whose plain dict is its document.

Before timing, the key fields of both ``p+e`` subjects are compared on the first 1,000
lines (event id, service, severity number, status class, is_error, route, user agent,
country, template id, event time): the two pairs do the same job or the run stops.

The naive parse functions are those of the previous version of this benchmark, unchanged
(they read zone-less times as local time, so the run sets ``TZ=UTC``).

CPU time per line (``time.process_time``); in every repetition the subjects take turns
on 50,000-line chunks (so that on a shared, noisy machine all of them see the same slow
and fast moments), median over repetitions; one process, one core. Both ``p+e`` subjects
run over the first 200,000 lines before timing, so caches (ours, and the libraries' own)
are warm, as in a long-running worker.

Run: ``.venv/bin/python bench/bench_ingest.py [--lines 1000000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import json
import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import ua_parser
from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]

from app.core.enrichment.geoip import DEFAULT_DATABASE
from app.core.enrichment.registry import build_pipeline
from app.core.eventdoc import event_doc
from app.core.events import LogEvent
from app.core.ids import event_id
from app.core.ingest import IngestLimits
from app.core.parsing import FormatDetector, RecordContext
from app.core.parsing.base import new_context
from app.generator import LineFactory

EPOCH = 1_795_000_000.0
OBSERVED = EPOCH + 3600
SOURCE = "bench"  # the Kafka key of every record
TOPIC = "logs.raw"
WARM_LINES = 200_000
CHUNK = 50_000  # lines a subject runs before the next subject's turn
CHECK_LINES = 1_000
DEPTH = IngestLimits().max_json_depth  # what ingest_message passes

# ------------------------------------------------------------------ naive parsing

NAIVE_ACCESS = re.compile(
    r'(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<size>\d+|-)'
    r'(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?P<rest>.*)$')
NAIVE_SYSLOG = re.compile(
    r"<(?P<pri>\d+)>(?P<time>\w{3} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<tag>[^:\[]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$", re.S)
NAIVE_PYTHON = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (?P<logger>\S+) - (?P<level>\w+) - "
    r"(?P<msg>.*)$", re.S)
NAIVE_LOGFMT = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def naive_json(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(line)
    doc["ts"] = datetime.strptime(doc["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    return doc


def naive_access(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = NAIVE_ACCESS.match(line).groupdict()  # type: ignore[union-attr]
    doc["ts"] = datetime.strptime(doc["time"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
    doc["status"] = int(doc["status"])
    doc["size"] = 0 if doc["size"] == "-" else int(doc["size"])
    return doc


def naive_syslog(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = NAIVE_SYSLOG.match(line).groupdict()  # type: ignore[union-attr]
    doc["ts"] = datetime.strptime(f"2026 {doc['time']}", "%Y %b %d %H:%M:%S").timestamp()
    doc["pri"] = int(doc["pri"])
    return doc


def naive_python(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = NAIVE_PYTHON.match(line).groupdict()  # type: ignore[union-attr]
    doc["ts"] = datetime.strptime(doc["time"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return doc


def naive_logfmt(line: str) -> dict[str, Any]:
    doc: dict[str, Any] = {k: v.strip('"') for k, v in NAIVE_LOGFMT.findall(line)}
    doc["ts"] = datetime.strptime(doc["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    return doc


# ------------------------------------------------------------------ naive enrichment

NAIVE_LEVELS = {"trace": 1, "debug": 5, "info": 9, "notice": 10, "warn": 13, "warning": 13,
                "error": 17, "err": 17, "critical": 21, "crit": 21, "fatal": 21,
                "alert": 23, "emerg": 24}
NAIVE_SYSLOG_LEVELS = (24, 23, 21, 17, 13, 10, 9, 5)  # by syslog severity 0-7
_SEGMENT_END = r"(?=/|$)"
NAIVE_ROUTE = (  # path segment -> placeholder, one re.sub each
    (re.compile(r"(?<=/)[0-9]+" + _SEGMENT_END), "{id}"),
    (re.compile(r"(?<=/)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{12}" + _SEGMENT_END), "{uuid}"),
    (re.compile(r"(?<=/)(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,}" + _SEGMENT_END), "{hash}"),
    (re.compile(r"(?<=/)[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
                r"\.[A-Za-z]{2,}" + _SEGMENT_END), "{email}"),
    (re.compile(r"(?<=/)(?:(?=[^/A-Z]*[A-Z])(?=[^/a-z]*[a-z])(?=[^/0-9]*[0-9])"
                r"[A-Za-z0-9_\-+=.~]{20,}|(?=[a-z]*[0-9])[a-z0-9]{20,})" + _SEGMENT_END),
     "{hash}"),
)
NAIVE_MASKS = (  # message -> template, one re.sub each
    (re.compile(r""""[^"\\]*(?:\\.[^"\\]*)*"|(?<!\w)'[^'\\]*(?:\\.[^'\\]*)*'(?!\w)"""),
     "<str>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                r"[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"(?<![\w:.])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
                r"|(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?::"
                r"(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?)(?:%\w+)?(?![\w:])"),
     "<ip>"),
    (re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])"), "<ip>"),
    (re.compile(r"\b(?:0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])"
                r"[0-9a-fA-F]{8,})\b"), "<hex>"),
    (re.compile(r"[0-9]+(?:\.[0-9]+)*"), "<num>"),
)
NAIVE_EXTRACT = {  # syslog program -> field regexes, first match wins
    "sshd": (
        re.compile(r"Accepted (?P<auth_method>[\w/-]+) for (?P<user>\S+) from "
                   r"(?P<source_ip>\S+) port (?P<source_port>\d+)"),
        re.compile(r"Failed (?P<auth_method>[\w/-]+) for (?:invalid user )?(?P<user>\S+) "
                   r"from (?P<source_ip>\S+) port (?P<source_port>\d+)"),
    ),
    "sudo": (
        re.compile(r"(?P<user>\S+) : TTY=(?P<tty>\S+) ; PWD=\S+ ; USER=(?P<target_user>\S+)"
                   r" ; COMMAND=(?P<command>.+)"),
    ),
}
GEO = GeoIP2Fast(geoip2fast_data_file=DEFAULT_DATABASE)  # the database our enricher loads


def naive_common(doc: dict[str, Any], offset: int, service: str, severity: int,
                 message: str) -> dict[str, Any]:
    """Event id, service, severity and message template of any format."""
    doc["event_id"] = hashlib.blake2b(f"{TOPIC}\x00{0}\x00{offset}\x00{0}".encode(),
                                      digest_size=16).hexdigest()
    doc["service"] = service
    doc["severity_number"] = severity
    doc["is_error"] = severity >= 17
    template = message[:1024]
    for regex, placeholder in NAIVE_MASKS:
        template = regex.sub(placeholder, template)
    doc["template_id"] = hashlib.blake2b(template.encode(), digest_size=8).hexdigest()
    return doc


def naive_http(doc: dict[str, Any], status: int, path: str) -> None:
    """Status class, is_error and route."""
    doc["status_class"] = f"{status // 100}xx"
    doc["is_error"] = doc["is_error"] or status >= 500
    route = path.split("?", 1)[0]
    for regex, placeholder in NAIVE_ROUTE:
        route = regex.sub(placeholder, route)
    doc["route"] = route


def naive_geo(doc: dict[str, Any], ip: str) -> None:
    found = GEO.lookup(ip)
    if found.country_code and found.country_code != "--" and not found.is_private:
        doc["country"] = found.country_code


def naive_json_enriched(line: str, offset: int) -> dict[str, Any]:
    doc = naive_json(line)
    naive_common(doc, offset, doc.get("service") or SOURCE,
                 NAIVE_LEVELS.get(doc.get("level", "").lower(), 9), doc.get("message", ""))
    http = doc.get("http")
    if http:
        naive_http(doc, http["status"], http["path"])
    return doc


def naive_access_enriched(line: str, offset: int) -> dict[str, Any]:
    doc = naive_access(line)
    status = doc["status"]
    severity = 17 if status >= 500 else 13 if status >= 400 and status != 404 else 9
    naive_common(doc, offset, SOURCE, severity, doc["request"])
    parts = doc["request"].split(" ")
    if len(parts) >= 2:
        naive_http(doc, status, parts[1])
    agent = doc["agent"]
    if agent and agent != "-":
        result = ua_parser.parse(agent)
        doc["ua"] = tuple(part.family if part else "Other"
                          for part in (result.user_agent, result.os, result.device))
    naive_geo(doc, doc["client"])
    return doc


def naive_syslog_enriched(line: str, offset: int) -> dict[str, Any]:
    doc = naive_syslog(line)
    tag = doc["tag"]
    naive_common(doc, offset, tag, NAIVE_SYSLOG_LEVELS[doc["pri"] % 8], doc["msg"])
    for regex in NAIVE_EXTRACT.get(tag, ()):
        found = regex.search(doc["msg"])
        if found:
            doc.update(found.groupdict())
            break
    if "source_ip" in doc:
        naive_geo(doc, doc["source_ip"])
    return doc


def naive_python_enriched(line: str, offset: int) -> dict[str, Any]:
    doc = naive_python(line)
    return naive_common(doc, offset, SOURCE, NAIVE_LEVELS.get(doc["level"].lower(), 9),
                        doc["msg"])


def naive_logfmt_enriched(line: str, offset: int) -> dict[str, Any]:
    doc = naive_logfmt(line)
    naive_common(doc, offset, doc.get("service") or SOURCE,
                 NAIVE_LEVELS.get(doc.get("level", "").lower(), 9), doc.get("msg", ""))
    if "status" in doc:
        naive_http(doc, int(doc["status"]), doc.get("path", ""))
    return doc


# ------------------------------------------------------------------ corpus and harness

def corpus(name: str, lines: int, seed: int = 1) -> list[str]:
    factory = LineFactory(seed)
    def stamps() -> Iterator[float]:
        for i in range(lines):
            yield EPOCH + i * 0.005
    if name == "json":
        return [factory._app(t, ("checkout", "auth", "search", "payments")[int(t) % 4]).text
                for t in stamps()]
    if name == "http_access":
        return [factory._access(t).text for t in stamps()]
    if name == "syslog":
        return [factory._auth(t).text for t in stamps()]
    if name == "python":
        return [factory._python(t).text for t in stamps()]
    if name == "logfmt":
        out = []
        for t in stamps():
            doc = json.loads(factory._app(t, "checkout").text)
            http = doc["http"]
            out.append(f'ts={doc["@timestamp"]} level={doc["level"]} service={doc["service"]} '
                       f'method={http["method"]} path={http["path"]} status={http["status"]} '
                       f'duration={http["latency_ms"]}ms msg="{doc["message"]}"')
        return out
    raise ValueError(name)


NAIVE: dict[str, Callable[[str], object]] = {
    "json": naive_json, "http_access": naive_access, "syslog": naive_syslog,
    "python": naive_python, "logfmt": naive_logfmt,
}
NAIVE_ENRICHED: dict[str, Callable[[str, int], dict[str, Any]]] = {
    "json": naive_json_enriched, "http_access": naive_access_enriched,
    "syslog": naive_syslog_enriched, "python": naive_python_enriched,
    "logfmt": naive_logfmt_enriched,
}
Subject = Callable[[str, int], object]


def key_fields_naive(doc: dict[str, Any]) -> tuple[Any, ...]:
    return (doc["event_id"], doc["service"], doc["severity_number"], doc.get("status_class"),
            doc["is_error"], doc.get("route"), doc.get("ua"), doc.get("country"),
            doc["template_id"], round(doc["ts"], 3))


def key_fields_ours(event: LogEvent) -> tuple[Any, ...]:
    http, ua = event.http, event.http.ua if event.http is not None else None
    status = http.status if http is not None else None
    return (event.event_id, event.service, event.severity_number,
            None if status is None else f"{status // 100}xx", event.is_error,
            http.route if http is not None else None,
            None if ua is None else (ua.family, ua.os, ua.device),
            event.geo.country if event.geo is not None else None,
            event.template_id, round(event.ts, 3))


def check_same_job(name: str, lines: list[str], naive: Subject, ours: Subject) -> None:
    """Stop the run if the two p+e subjects disagree on a key field of a line."""
    for offset, line in enumerate(lines[:CHECK_LINES]):
        event, doc = ours(line, offset), naive(line, offset)
        assert isinstance(event, LogEvent) and isinstance(doc, dict)
        mine, theirs = key_fields_ours(event), key_fields_naive(doc)
        if mine != theirs:
            raise SystemExit(f"{name} line {offset}: naive and logwarden disagree\n"
                             f"  line:      {line!r}\n  naive:     {theirs}\n"
                             f"  logwarden: {mine}")


def cpu_seconds(fn: Subject, lines: list[str], start: int) -> float:
    """CPU time of ``fn`` over ``lines``, the first being line ``start`` of the corpus."""
    gc.collect()
    started = time.process_time()
    for offset, line in enumerate(lines, start):
        fn(line, offset)
    return time.process_time() - started


def make_subjects(name: str, detector: FormatDetector, run: Callable[[LogEvent], None]
                  ) -> dict[str, tuple[Subject, str]]:
    """The subjects of format ``name``: subject -> (function, the naive subject doing the
    same job)."""
    parse = detector.parse
    fixed = RecordContext(event_id="e", observed_ts=OBSERVED, service=None, source_name=SOURCE)
    naive_parse = NAIVE[name]
    naive_full = NAIVE_ENRICHED[name]

    def naive_only(line: str, _offset: int) -> object:
        return naive_parse(line)

    def ours_parse(line: str, _offset: int) -> object:
        return parse(line, fixed, name)

    def ours_full(line: str, offset: int) -> LogEvent:
        # what ingest_message does per record, but to_doc
        ctx = new_context(RecordContext, (event_id(TOPIC, 0, offset, 0), OBSERVED, None,
                                          SOURCE, DEPTH))
        event = parse(line, ctx, name)
        run(event)
        return event

    def ours_doc(line: str, offset: int) -> object:
        ctx = new_context(RecordContext, (event_id(TOPIC, 0, offset, 0), OBSERVED, None,
                                          SOURCE, DEPTH))
        event = parse(line, ctx, name)
        run(event)
        return event_doc(event, [0, offset, 0])  # the document ingest_message builds

    return {
        "naive parse": (naive_only, "naive parse"),
        "ours parse": (ours_parse, "naive parse"),
        "naive p+e": (naive_full, "naive p+e"),
        "ours p+e": (ours_full, "naive p+e"),
        "ours +doc": (ours_doc, "naive p+e"),
    }


def count_one(spec: str, lines: int) -> None:
    """``--one FORMAT:SUBJECT``: two passes of one subject over ``lines`` lines, then one
    more inside ``functools.reduce`` with the garbage collector off: the pass to count
    with ``valgrind --tool=callgrind --toggle-collect=functools_reduce``."""
    name, _, wanted = spec.partition(":")
    fn = make_subjects(name, FormatDetector(), build_pipeline().run)[
        wanted.replace("-", " ")][0]
    corpus_lines = corpus(name, lines)
    for _ in range(2):
        for offset, line in enumerate(corpus_lines):
            fn(line, offset)
    gc.collect()
    gc.disable()
    functools.reduce(lambda _, item: fn(item[1], item[0]), enumerate(corpus_lines), None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--formats", default="json,http_access,syslog,python,logfmt")
    parser.add_argument("--one", metavar="FORMAT:SUBJECT",
                        help="only run one subject (e.g. json:ours-p+e) for an instruction "
                             "count, see count_one()")
    args = parser.parse_args()
    # the generated times are UTC; the naive parsers read zone-less times as local time
    os.environ["TZ"] = "UTC"
    time.tzset()
    if args.one:
        count_one(args.one, args.lines)
        return
    detector = FormatDetector()
    run = build_pipeline().run

    print(f"{args.lines:,} lines per format, {args.reps} reps, subjects interleaved per "
          f"{CHUNK:,} lines, CPU time, 1 core")
    print(f"{'format':12} {'subject':12} {'ns/line':>9} {'lines/CPU-s':>12} {'ratio':>7}"
          f"  (naive ns / ours ns, same job)")
    for name in args.formats.split(","):
        lines = corpus(name, args.lines)
        subjects = make_subjects(name, detector, run)
        naive_full, ours_full = subjects["naive p+e"][0], subjects["ours p+e"][0]
        check_same_job(name, lines, naive_full, ours_full)
        for offset, line in enumerate(lines[:WARM_LINES]):  # warm caches, as in a worker
            ours_full(line, offset)
            naive_full(line, offset)
        results: dict[str, list[float]] = {s: [] for s in subjects}
        for _ in range(args.reps):
            # subjects take turns chunk by chunk (in alternating order), so that each
            # sees the same share of a shared machine's slow and fast moments
            totals = dict.fromkeys(subjects, 0.0)
            for turn, start in enumerate(range(0, len(lines), CHUNK)):
                chunk = lines[start:start + CHUNK]
                for subject in list(subjects)[::1 if turn % 2 == 0 else -1]:
                    totals[subject] += cpu_seconds(subjects[subject][0], chunk, start)
            for subject, total in totals.items():
                results[subject].append(total / len(lines))
        for subject, (_fn, peer) in subjects.items():
            med = statistics.median(results[subject])
            base = statistics.median(results[peer])
            print(f"{name:12} {subject:12} {med * 1e9:9,.0f} {1 / med:12,.0f} "
                  f"{base / med:6.2f}x", flush=True)
        del lines


if __name__ == "__main__":
    main()
