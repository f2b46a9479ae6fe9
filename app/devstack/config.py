"""Where the dev stack keeps its state, and which ports it uses (env-overridable)."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, fields
from pathlib import Path

from app.devstack.versions import DEFAULT_PORTS

ENV_PREFIX = "LOGWARDEN_DEVSTACK_"
HOST = "127.0.0.1"

#: Repository root: the parent of the ``app`` package.
REPO_ROOT = Path(__file__).resolve().parents[2]


class DevstackError(Exception):
    """A failure with a message meant for the user (no traceback needed)."""


def state_dir() -> Path:
    """The single git-ignored directory that holds all dev-stack state.

    Default: ``<repo>/.devstack``. Elasticsearch refuses to run as root and so runs as
    an unprivileged user, who must be able to traverse every parent of the state dir;
    when root works in a checkout below a private directory (``/root`` is 0700), the
    default moves to ``/var/tmp/logwarden-devstack-<hash of the repo path>``.
    """
    raw = os.environ.get(f"{ENV_PREFIX}DIR")
    if raw:
        return Path(raw).expanduser().absolute()
    if os.geteuid() == 0 and not _others_can_traverse(REPO_ROOT):
        digest = hashlib.sha1(str(REPO_ROOT).encode(), usedforsecurity=False).hexdigest()[:8]
        return Path("/var/tmp") / f"logwarden-devstack-{digest}"
    return REPO_ROOT / ".devstack"


def _others_can_traverse(path: Path) -> bool:
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in (path, *path.parents))


def maven_repo() -> Path:
    """Maven's local repository, used as the download cache (default ~/.m2/repository)."""
    raw = os.environ.get(f"{ENV_PREFIX}M2_REPO")
    return Path(raw).expanduser().absolute() if raw else Path.home() / ".m2" / "repository"


def port_env_var(key: str) -> str:
    return f"{ENV_PREFIX}{key.upper()}_PORT"


def port(key: str) -> int:
    """Port for ``key`` (a field of :class:`~app.devstack.versions.Ports`)."""
    names = {f.name for f in fields(DEFAULT_PORTS)}
    if key not in names:
        raise KeyError(f"unknown port key {key!r}")
    default: int = getattr(DEFAULT_PORTS, key)
    raw = os.environ.get(port_env_var(key))
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DevstackError(f"{port_env_var(key)}={raw!r} is not a port number") from None
    if not 0 < value < 65536:
        raise DevstackError(f"{port_env_var(key)}={raw!r} is out of range")
    return value


@dataclass(frozen=True)
class Layout:
    """Paths inside the state dir: ``dist/`` (runtimes), ``run/<svc>/``, ``maven/<svc>/``."""

    root: Path

    @classmethod
    def current(cls) -> Layout:
        return cls(state_dir())

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def run_dir(self, service: str) -> Path:
        return self.root / "run" / service

    def maven_dir(self, service: str) -> Path:
        return self.root / "maven" / service

    def log_file(self, service: str) -> Path:
        return self.run_dir(service) / f"{service}.log"

    def pid_file(self, service: str) -> Path:
        return self.run_dir(service) / f"{service}.pid"

    def data_dir(self, service: str) -> Path:
        return self.run_dir(service) / "data"

    def ensure(self) -> None:
        """Create the state dir, git-ignored by its own ``.gitignore``."""
        self.root.mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# dev-stack state (python -m app.devstack)\n*\n")


def display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
