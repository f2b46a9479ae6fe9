"""Redis from Debian's ``redis-server`` package, on its own port, without persistence."""

from __future__ import annotations

import io
import socket
import uuid
from typing import TypeAlias

from app.devstack.base import Service
from app.devstack.config import HOST, port
from app.devstack.system import require_command


def url() -> str:
    return f"redis://{HOST}:{port('redis')}/0"


def _encode(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        raw = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


Reply: TypeAlias = "str | list[Reply] | None"


def _read_reply(stream: io.BufferedReader) -> Reply:
    line = stream.readline().rstrip(b"\r\n")
    if not line:
        raise ConnectionError("connection closed by redis")
    kind, rest = line[:1], line[1:].decode()
    if kind in (b"+", b":"):
        return rest
    if kind == b"-":
        raise RuntimeError(f"redis error: {rest}")
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        return stream.read(size + 2)[:-2].decode()
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise RuntimeError(f"unexpected redis reply {line!r}")


def call(*args: str, host: str = HOST, port_: int | None = None, timeout: float = 3.0) -> Reply:
    """Send one command over plain RESP and return the (simple/bulk) reply."""
    with socket.create_connection((host, port_ or port("redis")), timeout=timeout) as sock:
        sock.sendall(_encode(*args))
        with sock.makefile("rb") as stream:
            return _read_reply(stream)


def ping_set_get(host: str = HOST, port_: int | None = None) -> str:
    """PING, then SET/GET/DEL of a unique key."""
    if call("PING", host=host, port_=port_) != "PONG":
        raise RuntimeError("PING did not answer PONG")
    key, value = f"devstack:check:{uuid.uuid4().hex}", uuid.uuid4().hex
    call("SET", key, value, "EX", "60", host=host, port_=port_)
    got = call("GET", key, host=host, port_=port_)
    call("DEL", key, host=host, port_=port_)
    if got != value:
        raise RuntimeError(f"GET returned {got!r}, expected {value!r}")
    return "PING + SET/GET ok"


class Redis(Service):
    name = "redis"
    port_keys = ("redis",)
    start_timeout = 30.0

    def endpoint(self) -> str:
        return url()

    def prepare(self) -> None:
        require_command("redis-server", "redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            require_command("redis-server", "redis-server"),
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--dir",
            str(self.data_dir),
            "--logfile",
            "",
        ]

    def check(self) -> str:
        return ping_set_get()
