"""The Service base class: fetch/prepare, spawn, wait for health, status, stop."""

from __future__ import annotations

import abc
import os
import subprocess
import time
from pathlib import Path
from typing import ClassVar

from app.devstack import proc
from app.devstack.config import HOST, DevstackError, Layout, display, port, port_env_var

TAIL_LINES = 30


class StartFailed(DevstackError):
    """Start or health check failed; the log tail has already been printed."""


class Service(abc.ABC):
    """One backing service. Subclasses say how to fetch, configure, run and check it."""

    name: ClassVar[str]
    #: Port keys (fields of versions.Ports); the first one is the service's main port.
    port_keys: ClassVar[tuple[str, ...]]
    #: Seconds from spawn to healthy before giving up.
    start_timeout: ClassVar[float] = 60.0

    def __init__(self, layout: Layout | None = None) -> None:
        self.layout = layout or Layout.current()

    # ----- paths and addresses -------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.layout.run_dir(self.name)

    @property
    def log_file(self) -> Path:
        return self.layout.log_file(self.name)

    @property
    def pid_file(self) -> Path:
        return self.layout.pid_file(self.name)

    @property
    def data_dir(self) -> Path:
        return self.layout.data_dir(self.name)

    @property
    def port(self) -> int:
        return port(self.port_keys[0])

    def ports(self) -> dict[str, int]:
        return {key: port(key) for key in self.port_keys}

    @abc.abstractmethod
    def endpoint(self) -> str:
        """Client-facing address (URL or host:port) of the running service."""

    # ----- lifecycle hooks -----------------------------------------------------------
    @abc.abstractmethod
    def prepare(self) -> None:
        """Fetch the runtime into the state dir if absent and write config files."""

    @abc.abstractmethod
    def command(self) -> list[str]:
        """argv of the foreground server process."""

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def started(self) -> bool:
        """Cheap readiness gate polled before the (costlier) health check."""
        return proc.port_open(self.port)

    @abc.abstractmethod
    def check(self) -> str:
        """Real health check; raise on failure, return a short summary on success."""

    # ----- state ---------------------------------------------------------------------
    def running_pid(self) -> int | None:
        """Pid from our pid file if that process is alive and is ours; drops stale files."""
        pid = proc.read_pid(self.pid_file)
        if pid is None:
            return None
        if proc.is_alive(pid) and proc.belongs_to(pid, self.layout.root):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def log_contains(self, text: str) -> bool:
        try:
            return text in self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return False

    def print_log_tail(self, lines: int = TAIL_LINES) -> None:
        print(f"--- last {lines} lines of {display(self.log_file)} ---", flush=True)
        for line in proc.tail(self.log_file, lines):
            print(f"  {line}")
        print("---", flush=True)

    def describe(self, pid: int) -> str:
        return f"pid {pid}, {HOST}:{self.port}, log {display(self.log_file)}"

    # ----- operations ----------------------------------------------------------------
    def up(self) -> float | None:
        """Start (if needed) and wait until healthy. Returns seconds to healthy, or None."""
        pid = self.running_pid()
        if pid is not None:
            try:
                self.check()
            except Exception as exc:
                print(f"{self.name:<13} running but UNHEALTHY ({self.describe(pid)}): {exc}")
                self.print_log_tail()
                raise StartFailed(f"{self.name} is running (pid {pid}) but unhealthy") from None
            print(f"{self.name:<13} already running ({self.describe(pid)})", flush=True)
            return None
        for key, number in self.ports().items():
            if proc.port_in_use(number):
                raise DevstackError(
                    f"{self.name}: port {number} ({key}) on {HOST} is already in use by "
                    f"another process (not one started by devstack); stop it or set "
                    f"{port_env_var(key)} to a free port"
                )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        self.prepare()
        return self._spawn_and_wait(time.monotonic() - began)

    def _spawn_and_wait(self, prepared_in: float) -> float:
        if self.log_file.exists():
            self.log_file.replace(self.log_file.with_name(self.log_file.name + ".prev"))
        with self.log_file.open("wb") as log:
            child = subprocess.Popen(
                self.command(),
                cwd=self.run_dir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        spawned = time.monotonic()
        self.pid_file.write_text(f"{child.pid}\n")
        deadline = spawned + self.start_timeout
        last_error = "not ready yet"
        while time.monotonic() < deadline:
            code = child.poll()
            if code is not None:
                last_error = f"process exited with code {code}"
                break
            if self.started():
                try:
                    self.check()
                except Exception as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    elapsed = time.monotonic() - spawned
                    print(
                        f"{self.name:<13} up in {elapsed:.1f}s  ({self.describe(child.pid)})"
                        f"  [fetch+prepare {prepared_in:.1f}s]",
                        flush=True,
                    )
                    return elapsed
            time.sleep(0.25)
        else:
            last_error = f"not healthy after {self.start_timeout:.0f}s ({last_error})"
        print(f"{self.name:<13} FAILED: {last_error}", flush=True)
        if child.poll() is None:
            proc.terminate(child.pid)
        child.wait()
        self.pid_file.unlink(missing_ok=True)
        self.print_log_tail()
        raise StartFailed(f"{self.name} failed to start: {last_error}")

    def down(self) -> str:
        pid = proc.read_pid(self.pid_file)
        if pid is None:
            return "not running"
        if not proc.is_alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return f"not running (removed stale pid file, pid {pid})"
        if not proc.belongs_to(pid, self.layout.root):
            self.pid_file.unlink(missing_ok=True)
            return f"pid {pid} is not a devstack process; left it alone, removed pid file"
        started = time.monotonic()
        how = proc.terminate(pid)
        self.pid_file.unlink(missing_ok=True)
        return f"{how} (pid {pid}) in {time.monotonic() - started:.1f}s"

    def status(self) -> tuple[bool, str]:
        pid = self.running_pid()
        head = f"{self.name:<13} {self.port:<6}"
        if pid is None:
            held = " (port held by another process)" if proc.port_in_use(self.port) else ""
            return False, f"{head} {'-':<8} stopped{held}"
        try:
            detail = self.check()
        except Exception as exc:
            return False, f"{head} {pid:<8} unhealthy: {type(exc).__name__}: {exc}"
        return True, f"{head} {pid:<8} healthy  {detail}"
