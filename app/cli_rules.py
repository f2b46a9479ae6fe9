"""``logwarden rules validate|test``, ``logwarden silence add|list|expire``, ``logwarden ack``.

``rules test`` is the offline twin of the alerts agents: log files go through the same
parsers and enrichers (``app.wiring``), the same window core and the same rule engine
(``app.core.alerting.backtest``), with the clock driven by the events' own time.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from app.adapters.rule_files import load_rule_paths
from app.core.alerting.backtest import Backtest, Report
from app.core.alerting.durations import parse_duration
from app.core.alerting.loading import RuleLoadError
from app.core.alerting.models import RuleSet
from app.core.alerting.registry import register_rule_type
from app.core.alerting.silences import Ack, Silence
from app.core.events import iso_utc
from app.core.ingest import RawMessage, ingest_message
from app.settings import Settings


def _settings() -> Settings:
    from app.cli import _settings as load

    return load()


def _rules(paths: list[Path], sizes: tuple[int, ...]) -> RuleSet | None:
    from app.plugins import registry

    registry().feed("rule_types", register_rule_type)  # built-in and plugins' rule types
    try:
        return load_rule_paths(paths, sizes)
    except RuleLoadError as exc:
        print(f"logwarden: invalid alert rules:\n{exc}", file=sys.stderr)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    settings = _settings()
    paths = [Path(p) for p in (args.paths or [settings.alerting.rules_dir])]
    rules = _rules(paths, settings.windows.service_sizes_s)
    if rules is None:
        return 2  # as for invalid settings: the files, not the command, need fixing
    for rule in rules.rules:
        print(f"{rule.name}\t{rule.spec.type}\t{rule.kind.describe()}\t({rule.origin})")
    print(f"{len(rules.rules)} rule(s), {len(rules.inhibit)} inhibition rule(s): valid",
          file=sys.stderr)
    return 0


# -- back-testing -----------------------------------------------------------------------

# text, format, service, source, observed time (the year of a syslog stamp comes from it)
Line = tuple[str, str | None, str | None, str, float]


def docs_from_lines(settings: Settings, lines: Iterable[Line],
                    errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Canonical events of raw lines, parsed and enriched as the parse agent does."""
    from app import wiring
    from app.core.eventdoc import as_dict

    limits = wiring.ingest_limits(settings)
    detector = wiring.detector(settings)
    enrich = wiring.enrichment(settings).run
    for number, (text, fmt, service, source, observed) in enumerate(lines, 1):
        headers = {"source_type": "file"}
        if fmt:
            headers["format"] = fmt
        if service:
            headers["service"] = service
        msg = RawMessage(value=text.encode(), key=source.encode(), headers=headers,
                         topic="file", partition=0, offset=number, timestamp=observed)
        result = ingest_message(msg, detector, limits, enrich=enrich)
        for docs in result.by_service.values():
            yield from map(as_dict, docs)
        if errors is not None:
            errors += [f"{source}:{number}: {letter.reason.value}: {letter.error}"
                       for letter in result.dead_letters]


def file_lines(paths: list[Path], fmt: str | None, service: str | None) -> Iterator[Line]:
    for path in paths:
        observed = path.stat().st_mtime  # when the file was written: the year of its stamps
        with path.open(encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                text = raw.rstrip("\n")
                if text.strip():
                    yield text, fmt, service, path.name, observed


def backtest(settings: Settings, rules: RuleSet, docs: Iterable[dict[str, Any]], *,
             drain_s: float = 0.0, window_sizes: tuple[int, ...] | None = None) -> Report:
    run = Backtest(rules, window_sizes=window_sizes or settings.windows.service_sizes_s,
                   grace_s=settings.windows.grace_s,
                   silent_after_s=settings.windows.silent_after_s,
                   base_url=settings.alerting.dashboard_base_url)
    return run.run(docs, drain_s=drain_s)


def print_report(report: Report) -> None:
    print(f"{'event time':<24} {'rule':<22} {'transition':<20} {'labels':<34} value")
    for t in report.transitions:
        labels = ",".join(f"{k}={v}" for k, v in t.labels.items()
                          if k not in ("alertname", "severity", "team"))
        value = "" if t.value is None else f"{t.value:.4g}"
        if t.to_state == "resolved" and t.duration_s is not None:
            peak = "" if t.peak is None else f"{t.peak:.4g}"
            value += f" (after {t.duration_s:.0f}s, peak {peak})"
        print(f"{iso_utc(t.at):<24} {t.rule:<22} {t.from_state + ' -> ' + t.to_state:<20} "
              f"{labels:<34} {value}")
    print()
    print(f"{'event time':<24} {'notification':<10} title")
    for n in report.notifications:
        print(f"{iso_utc(n.created_at):<24} {n.kind:<10} {n.title}")
    for failure in report.failures:
        print(f"rule failure: {failure}")
    print(f"\n{report.events} events, {report.windows} closed windows, "
          f"{len(report.transitions)} transitions, {len(report.notifications)} notifications")


def cmd_test(args: argparse.Namespace) -> int:
    settings = _settings()
    rules = _rules([Path(args.rules or settings.alerting.rules_dir)],
                   settings.windows.service_sizes_s)
    if rules is None:
        return 2
    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"logwarden: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    errors: list[str] = []
    docs = list(docs_from_lines(settings, file_lines(paths, args.format, args.service), errors))
    for error in errors[:20]:
        print(f"dead letter: {error}", file=sys.stderr)
    report = backtest(settings, rules, docs, drain_s=parse_duration(args.drain))
    if args.json:
        sys.stdout.write(orjson.dumps(report.to_doc(), option=orjson.OPT_INDENT_2).decode()
                         + "\n")
    else:
        print_report(report)
    return 1 if report.failures else 0


# -- silences and acks ----------------------------------------------------------------

def cmd_silence(args: argparse.Namespace) -> int:
    from app.adapters.silences import expire_silence, publish_silence, read_mutes

    settings = _settings()
    now = time.time()
    if args.action == "add":
        if not args.matchers:
            print("logwarden: silence add needs at least one matcher (name=value)",
                  file=sys.stderr)
            return 2
        try:
            silence = Silence.new(args.matchers, starts_at=now,
                                  ends_at=now + parse_duration(args.duration),
                                  created_by=args.by or getpass.getuser(),
                                  comment=args.comment or "", created_at=now)
        except ValueError as exc:
            print(f"logwarden: {exc}", file=sys.stderr)
            return 2
        asyncio.run(publish_silence(settings, silence))
        print(silence.id)
        return 0
    if args.action == "expire":
        if not args.matchers:
            print("logwarden: silence expire needs the silence id", file=sys.stderr)
            return 2
        expired = asyncio.run(expire_silence(settings, args.matchers[0], now))
        if expired is None:
            print(f"logwarden: no silence {args.matchers[0]!r}", file=sys.stderr)
            return 1
        print(f"expired {expired.id}")
        return 0
    mutes = asyncio.run(read_mutes(settings))
    for silence in sorted(mutes.silences.values(), key=lambda s: s.created_at):
        if silence.active(now) or args.all:
            state = "active" if silence.active(now) else "expired"
            print(f"{silence.id}\t{state}\t{' '.join(map(str, silence.matchers))}\t"
                  f"until {iso_utc(silence.ends_at)}\t{silence.created_by}\t{silence.comment}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    from app.adapters.silences import publish_ack

    settings = _settings()
    ack = Ack(args.fingerprint, args.activation, args.by or getpass.getuser(),
              args.comment or "", time.time())
    asyncio.run(publish_ack(settings, ack))
    print(ack.id)
    return 0


def add_cli_parser(sub: Any) -> None:
    p = sub.add_parser("rules", help="alert rules: validate files, back-test them on logs")
    rules = p.add_subparsers(dest="rules_command", required=True)
    v = rules.add_parser("validate", help="check rule files (errors name file, rule, field)")
    v.add_argument("paths", nargs="*", metavar="DIR_OR_FILE",
                   help="default: alerting.rules_dir")
    v.set_defaults(func=cmd_validate)
    t = rules.add_parser("test", help="run log files through the rules (event time) and "
                                      "print what would have fired and resolved")
    t.add_argument("files", nargs="+", metavar="FILE")
    t.add_argument("--rules", help="rule directory or file (default: alerting.rules_dir)")
    t.add_argument("--format", help="declared format of every line (default: auto-detect)")
    t.add_argument("--service", help="service of every line (default: from the line)")
    t.add_argument("--drain", default="0s",
                   help="keep the clock running this long after the last event (e.g. 5m)")
    t.add_argument("--json", action="store_true", help="JSON instead of a table")
    t.set_defaults(func=cmd_test)

    p = sub.add_parser("silence", help="silences: add MATCHER..., list, expire ID")
    p.add_argument("action", choices=("add", "list", "expire"))
    p.add_argument("matchers", nargs="*", metavar="MATCHER_OR_ID",
                   help="add: label matchers (service=checkout, alertname=~high-.*); "
                        "expire: the silence id")
    p.add_argument("--duration", default="2h", help="add: how long (default 2h)")
    p.add_argument("--comment", help="add: why")
    p.add_argument("--by", help="add: who (default: the current user)")
    p.add_argument("--all", action="store_true", help="list: expired ones too")
    p.set_defaults(func=cmd_silence)

    p = sub.add_parser("ack", help="acknowledge a firing alert: pauses its repeats")
    p.add_argument("fingerprint")
    p.add_argument("activation", type=int, help="the activation number (alerts.transitions)")
    p.add_argument("--comment")
    p.add_argument("--by")
    p.set_defaults(func=cmd_ack)
