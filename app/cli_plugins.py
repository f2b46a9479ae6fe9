"""``logwarden plugins list``: every registered extension, its origin package and status."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from app.core.errors import ConfigError


def extension_rows() -> list[dict[str, Any]]:
    """One row per extension of every group, each loaded (so failures show)."""
    from app.plugins import PluginLoadFailed, registry
    from app.plugins.contracts import AgentPlugin

    rows = []
    for ext in registry().extensions():
        detail = ""
        try:
            obj = ext.load()
        except PluginLoadFailed:
            obj = None
        if isinstance(obj, AgentPlugin):
            detail = f"plugin {obj.name} {obj.version}, reads {obj.input}"
            if obj.output:
                detail += f", writes {obj.output}"
        rows.append({"group": ext.group, "name": ext.name, "package": ext.dist,
                     "version": ext.version, "target": ext.target,
                     "status": "ok" if ext.error is None else "failed",
                     "error": ext.error, "detail": detail})
    return rows


def cmd_plugins(args: argparse.Namespace) -> int:
    try:
        rows = extension_rows()
    except ConfigError as exc:  # duplicate names, or settings an agent module reads
        print(f"logwarden: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        header = ("GROUP", "NAME", "PACKAGE", "TARGET", "STATUS")
        table = [header] + [
            (r["group"], r["name"], f"{r['package']} {r['version']}", r["target"],
             r["status"] + (f": {r['error']}" if r["error"] else "")
             + (f" ({r['detail']})" if r["detail"] else ""))
            for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        for row in table:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                  + "  " + row[4])
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} extension(s) failed to load", file=sys.stderr)
    return 1 if failed else 0


def add_cli_parser(sub: Any) -> None:
    p = sub.add_parser("plugins", help="list registered extensions (parsers, agents, ...) "
                                       "and the package each comes from")
    p.add_argument("action", choices=("list",))
    p.add_argument("--json", action="store_true", help="one JSON object per extension")
    p.set_defaults(func=cmd_plugins)
