"""CLI: ``python -m app.devstack up|down|status|logs|paths``."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import sys
import time
from collections.abc import Iterator

from app.devstack import proc, services
from app.devstack.base import StartFailed
from app.devstack.config import DevstackError, Layout, display, maven_repo, port_env_var
from app.devstack.versions import SERVICE_ORDER

USAGE = """\
python -m app.devstack up [SERVICE...]      start (fetching on first use) and health-check
python -m app.devstack down [SERVICE...]    stop what devstack started (by pid file)
python -m app.devstack status [SERVICE...]  one line per service; exit 0 only if all healthy
python -m app.devstack logs SERVICE [-n N]  last N lines of the service's log
python -m app.devstack paths                state dir, per-service files and endpoints

services (start order): """ + " ".join(SERVICE_ORDER)


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """Serialise up/down runs that share one state dir."""
    layout.ensure()
    with layout.lock_file.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for another devstack up/down to finish ...", flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def cmd_up(names: list[str]) -> int:
    layout = Layout.current()
    chosen = services.select(names, layout)
    total = time.monotonic()
    with locked(layout):
        for svc in chosen:
            try:
                svc.up()
            except StartFailed as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            except DevstackError as exc:
                print(f"{svc.name:<13} FAILED", flush=True)
                print(f"error: {exc}", file=sys.stderr)
                return 1
    print(f"all requested services healthy ({time.monotonic() - total:.1f}s total)")
    return 0


def cmd_down(names: list[str]) -> int:
    layout = Layout.current()
    with locked(layout):
        for svc in reversed(services.select(names, layout)):
            print(f"{svc.name:<13} {svc.down()}", flush=True)
    return 0


def cmd_status(names: list[str]) -> int:
    ok = True
    print(f"{'SERVICE':<13} {'PORT':<6} {'PID':<8} STATE")
    for svc in services.select(names):
        healthy, line = svc.status()
        ok = ok and healthy
        print(line, flush=True)
    return 0 if ok else 1


def cmd_logs(name: str, lines: int) -> int:
    svc = services.get(name)
    if not svc.log_file.exists():
        print(f"no log yet: {display(svc.log_file)}", file=sys.stderr)
        return 1
    print(f"==> {display(svc.log_file)} <==")
    for line in proc.tail(svc.log_file, lines):
        print(line)
    return 0


def cmd_paths() -> int:
    layout = Layout.current()
    print(f"state dir     {layout.root}   (env LOGWARDEN_DEVSTACK_DIR)")
    print(f"runtimes      {layout.dist}")
    print(f"maven cache   {maven_repo()}   (env LOGWARDEN_DEVSTACK_M2_REPO)")
    endpoints = services.endpoints(layout)
    for svc in services.select(None, layout):
        print(f"{svc.name}:")
        print(f"  endpoint    {endpoints[svc.name]}")
        ports = ", ".join(f"{k}={v} ({port_env_var(k)})" for k, v in svc.ports().items())
        print(f"  ports       {ports}")
        print(f"  run dir     {svc.run_dir}")
        print(f"  log         {svc.log_file}")
        print(f"  pid file    {svc.pid_file}")
    print(f"smtp maildir  {endpoints['smtp_maildir']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.devstack",
        description="Fetch, cache, start (127.0.0.1 only), health-check and stop the "
        "backing services the tests need.",
        usage=USAGE,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "start services"),
        ("down", "stop services"),
        ("status", "health of services"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("services", nargs="*", metavar="SERVICE")
    logs = sub.add_parser("logs", help="show a service log")
    logs.add_argument("service", choices=SERVICE_ORDER)
    logs.add_argument("-n", type=int, default=50, metavar="N", help="lines (default 50)")
    sub.add_parser("paths", help="show state paths and endpoints")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.services)
        if args.command == "down":
            return cmd_down(args.services)
        if args.command == "status":
            return cmd_status(args.services)
        if args.command == "logs":
            return cmd_logs(args.service, args.n)
        return cmd_paths()
    except (DevstackError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
