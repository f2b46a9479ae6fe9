"""``logwarden`` command line: worker, run, generate, topics, config, devstack."""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from app.core.errors import ConfigError
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.generator import Incidents


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        print(f"logwarden: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    from app.adapters.kafka_admin import ensure_topics

    asyncio.run(ensure_topics(settings))
    try:
        from app.main import app  # registers agents (through app.plugins) and views
    except ConfigError as exc:  # plugins: duplicate names, strict load failures, sections
        print(f"logwarden: {exc}", file=sys.stderr)
        return 2

    tune_gc(settings.worker.gc_gen0_threshold)
    sys.argv = ["logwarden", "worker", "-l", settings.worker.log_level, *args.faust_args]
    app.main()
    return 0  # pragma: no cover - app.main() exits


def tune_gc(gen0: int) -> None:
    """Freeze what start-up loaded (the collector never scans it again) and collect the
    young generation less often: decoding a batch allocates millions of short-lived dicts,
    and with Python's default threshold (700) the collector keeps re-scanning them.
    Measured in bench/RESULTS.md (worker CPU per event)."""
    import gc

    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0, gen1, gen2)


def cmd_topics(_: argparse.Namespace) -> int:
    from app.adapters.kafka_admin import ensure_topics

    for name, count in asyncio.run(ensure_topics(_settings())).items():
        print(f"{name}\t{count} partitions")
    return 0


def _incidents(specs: list[str] | None) -> Incidents:
    from app.generator import Incidents

    try:
        return Incidents.parse(specs or [])
    except ValueError as exc:
        print(f"logwarden: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_generate(args: argparse.Namespace) -> int:
    from app.generator import run_generator

    incidents = _incidents(args.incident)
    sent = asyncio.run(run_generator(_settings(), rate=args.rate, duration=args.duration,
                                     seed=args.seed, bad_fraction=args.bad_fraction,
                                     incidents=incidents))
    print(f"produced {sent} log lines")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from app.runner import run

    incidents = _incidents(args.incident)
    return run(_settings(), rate=args.rate, duration=args.duration, incidents=incidents)


def cmd_config(_: argparse.Namespace) -> int:
    settings = _settings()
    print(settings.model_dump_json(indent=2))
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.shipper import DEFAULT_STATE, Shipper

    settings = _settings()
    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"logwarden: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    record_start = None
    if args.multiline != "none":
        from app.core import multiline

        record_start = (multiline.python_record_start if args.multiline == "python"
                        else multiline.timestamp_record_start)

    async def run() -> None:
        async with Shipper(settings, source=args.source, service=args.service,
                           fmt=args.format, record_start=record_start,
                           state=Path(args.state) if args.state else DEFAULT_STATE,
                           progress=not args.no_progress) as shipper:
            results = await asyncio.gather(*(shipper.ship(p, follow=args.follow)
                                             for p in paths))
            for path, stats in zip(paths, results, strict=True):
                print(stats.summary(str(path)))

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("interrupted; acknowledged lines are remembered, the next run resumes",
              file=sys.stderr)
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    from app import wiring
    from app.core.eventdoc import encode_docs
    from app.core.ingest import IngestResult, RawMessage, ingest_message

    settings = _settings()
    limits = wiring.ingest_limits(settings)
    detector = wiring.detector(settings)
    enrich = wiring.enrichment(settings).run
    if args.format and args.format not in detector.catalog:
        print(f"logwarden: unknown format {args.format!r} (known: "
              f"{', '.join(detector.formats)})", file=sys.stderr)
        return 2
    stream = sys.stdin.buffer if args.file in (None, "-") else open(args.file, "rb")  # noqa: SIM115
    headers = {"format": args.format} if args.format else {}
    headers["source_type"] = "file"
    if args.service:
        headers["service"] = args.service
    events = letters = 0
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            msg = RawMessage(value=line, key=(args.source or "parse").encode(), headers=headers,
                             topic="file", partition=0, offset=number, timestamp=time.time())
            result: IngestResult = ingest_message(msg, detector, limits, enrich=enrich)
            for docs in result.by_service.values():
                for doc in docs:
                    sys.stdout.write(encode_docs(doc).decode() + "\n")
                    events += 1
            for letter in result.dead_letters:
                print(f"line {number}: dead letter ({letter.stage}/{letter.reason.value}"
                      f", parser {letter.parser}): {letter.error}", file=sys.stderr)
                letters += 1
    print(f"{events} event{'' if events == 1 else 's'}, {letters} dead "
          f"letter{'' if letters == 1 else 's'}", file=sys.stderr)
    return 0 if letters == 0 else 1


def cmd_tokens(args: argparse.Namespace) -> int:
    from app.adapters.tokens import MongoTokenStore, TokenExists
    from app.core.tokens import Scope

    settings = _settings()

    async def run() -> int:
        store = MongoTokenStore(settings.mongo.url, settings.mongo.database)
        try:
            if args.action == "create":
                scopes = {Scope(s) for s in (args.scope or ["ingest"])}
                try:
                    token = await store.create(args.name, scopes)
                except TokenExists as exc:
                    print(f"logwarden: {exc}", file=sys.stderr)
                    return 1
                print(token)
                print(f"token {args.name!r} ({', '.join(sorted(scopes))}): shown once, "
                      "store it now", file=sys.stderr)
            elif args.action == "revoke":
                if not await store.revoke(args.name):
                    print(f"logwarden: no active token named {args.name!r}", file=sys.stderr)
                    return 1
                print(f"revoked {args.name}")
            else:
                for rec in await store.list():
                    state = "revoked" if rec.revoked_at else "active"
                    print(f"{rec.name}\t{','.join(sorted(rec.scopes))}\t{state}")
            return 0
        finally:
            await store.close()

    return asyncio.run(run())


def cmd_devstack(args: argparse.Namespace) -> int:
    return subprocess.call([sys.executable, "-m", "app.devstack", *args.devstack_args])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logwarden", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("worker", help="run a stream-processing worker (with its web server)",
                       epilog="Other options are passed to Faust's worker command, "
                              "e.g. --web-port 6067.")
    p.set_defaults(func=cmd_worker, faust_args=[])

    p = sub.add_parser("run", help="the main job: worker + web + generated traffic")
    p.add_argument("--rate", type=float, default=200.0, help="generated lines per second")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: until ^C)")
    p.add_argument("--incident", action="append", metavar="NAME=VALUE",
                   help="inject: error_spike=SERVICE, latency_spike=SERVICE, silent=SERVICE, "
                        "brute_force_ip=IP, new_error=SERVICE (repeatable)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("generate", help="produce generated log lines to logs.raw")
    p.add_argument("--rate", type=float, default=200.0, help="lines per second")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--bad-fraction", type=float, default=0.001,
                   help="share of malformed lines (they must land in logs.dlq)")
    p.add_argument("--incident", action="append", metavar="NAME=VALUE",
                   help="inject: error_spike=SERVICE, latency_spike=SERVICE, silent=SERVICE, "
                        "brute_force_ip=IP, new_error=SERVICE (repeatable)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("ship", help="send log files to logs.raw (resumable; --follow)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--follow", "-f", action="store_true", help="keep reading as files grow")
    p.add_argument("--format", help="declared format (default: auto-detect)")
    p.add_argument("--service", help="service of every line (default: from the line)")
    p.add_argument("--source", help="source name, the Kafka key (default: file name)")
    p.add_argument("--multiline", choices=("none", "python", "timestamp"), default="none",
                   help="fold continuation lines (tracebacks) into one record")
    p.add_argument("--state", help="offset file (default: .run/ship-state.json)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_ship)

    p = sub.add_parser("parse", help="show what lines become: events (stdout), dead letters")
    p.add_argument("file", nargs="?", help="a log file, or - / nothing for stdin")
    p.add_argument("--format", help="declared format (default: auto-detect)")
    p.add_argument("--service")
    p.add_argument("--source")
    p.set_defaults(func=cmd_parse)

    from app.ingest.syslog_listener import add_cli_parser as add_syslog_parser

    add_syslog_parser(sub)

    from app.cli_plugins import add_cli_parser as add_plugins_parser

    add_plugins_parser(sub)

    from app.cli_notify import add_cli_parser as add_notify_parser

    add_notify_parser(sub)

    from app.cli_rules import add_cli_parser as add_rules_parser

    add_rules_parser(sub)

    p = sub.add_parser("topics", help="create logwarden's Kafka topics if missing")
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("tokens", help="API tokens: create (shown once), list, revoke")
    p.add_argument("action", choices=("create", "list", "revoke"))
    p.add_argument("name", nargs="?", help="token name (create, revoke)")
    p.add_argument("--scope", action="append", choices=("ingest", "read", "admin"),
                   help="repeatable; default: ingest")
    p.set_defaults(func=cmd_tokens)

    p = sub.add_parser("config", help="validate and print the effective configuration")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("devstack", help="local services: up|down|status|logs (see README)",
                       add_help=False)
    p.add_argument("devstack_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_devstack)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "tokens" and args.action != "list" and not args.name:
        parser.error(f"tokens {args.action} needs a NAME")
    if extra and args.command == "worker":
        args.faust_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
