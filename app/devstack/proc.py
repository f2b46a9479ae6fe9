"""Process, pid-file, port and log helpers (Linux /proc based, stdlib only)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import time
from collections import deque
from pathlib import Path

from app.devstack.config import HOST


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, pgid) of ``pid`` from /proc, or None if it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = raw[raw.rfind(")") + 2 :].split()
    return rest[0], int(rest[2])


def is_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (PID 1 here may not reap orphans)."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[1] == pgid and st[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def belongs_to(pid: int, marker: Path) -> bool:
    """True if ``pid``'s command line mentions ``marker`` or its cwd lies below it.

    Used before killing a pid from a pid file, so a recycled pid is never killed.
    (The cwd test covers redis-server, which rewrites its own argv.)
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if str(marker) in cmdline:
        return True
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    return cwd == marker or marker in cwd.parents


def terminate(pid: int, timeout: float = 20.0) -> str:
    """SIGTERM the process group led by ``pid`` (or just ``pid``), SIGKILL after ``timeout``.

    Returns "stopped" or "killed".
    """
    try:
        use_group = os.getpgid(pid) == pid
    except ProcessLookupError:
        return "stopped"

    def send(sig: signal.Signals) -> None:
        try:
            if use_group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def gone() -> bool:
        _reap(pid)
        return not (group_members(pid) if use_group else is_alive(pid))

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone():
            return "stopped"
        time.sleep(0.2)
    send(signal.SIGKILL)
    for _ in range(50):
        if gone():
            break
        time.sleep(0.1)
    return "killed"


def _reap(pid: int) -> None:
    """Reap ``pid`` if it is our own child (a failed ``up`` stops what it spawned)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something already listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        if sock.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 30) -> list[str]:
    """Last ``lines`` lines of a text file (empty if it does not exist)."""
    try:
        with path.open("r", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except FileNotFoundError:
        return []
