"""Host prerequisites: the JDK, Debian packages, the unprivileged ``es`` user."""

from __future__ import annotations

import os
import platform
import shutil
import stat
import subprocess
from pathlib import Path

from app.devstack.config import DevstackError
from app.devstack.versions import PINS

_apt_updated = False


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(package: str, why: str) -> None:
    """Install a Debian package (``apt-get update`` at most once per run); root only."""
    global _apt_updated
    command = f"apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {package}"
    if not is_root():
        raise DevstackError(f"{why} is missing; install it first:  sudo sh -c '{command}'")
    print(f"installing Debian package {package} ({why} is missing) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [] if _apt_updated else [["apt-get", "update"]]
    steps.append(["apt-get", "install", "-y", package])
    for argv in steps:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            last = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
            raise DevstackError(f"`{' '.join(argv)}` failed (exit {proc.returncode}):\n{last}")
        if argv[1] == "update":
            _apt_updated = True


def require_command(name: str, package: str) -> str:
    """Absolute path of executable ``name``, apt-installing ``package`` if missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found:
        return found
    apt_install(package, f"`{name}`")
    found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not found:
        raise DevstackError(f"`{name}` still not found after installing {package}")
    return found


def java_home() -> Path:
    """JAVA_HOME of Debian's JDK 17 (needs ``javac`` too: mongo uses source launch)."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    major = PINS.java_major
    candidate = Path(f"/usr/lib/jvm/java-{major}-openjdk-{arch}")
    if not (candidate / "bin" / "javac").exists():
        java = shutil.which("java")
        if java:
            home = Path(java).resolve().parent.parent
            release = home / "release"
            if (
                (home / "bin" / "javac").exists()
                and release.exists()
                and f'JAVA_VERSION="{major}' in release.read_text()
            ):
                return home
        apt_install(f"openjdk-{major}-jdk-headless", f"JDK {major}")
    if not (candidate / "bin" / "java").exists():
        raise DevstackError(f"JDK {major} not found at {candidate}")
    return candidate


def java() -> str:
    return str(java_home() / "bin" / "java")


def ensure_user(name: str) -> None:
    """Create system user ``name`` if absent (root only)."""
    try:
        subprocess.run(["id", "-u", name], capture_output=True, check=True)
        return
    except subprocess.CalledProcessError:
        pass
    print(f"creating system user {name!r} ...", flush=True)
    proc = subprocess.run(
        ["useradd", "--system", "--create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevstackError(f"useradd {name} failed: {proc.stderr.strip()}")


def check_traversable(path: Path, user: str) -> None:
    """Fail clearly if ``user`` (not the owner) cannot traverse every parent of ``path``."""
    for parent in [*reversed(path.parents), path]:
        if not parent.exists():
            break
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise DevstackError(
                f"user {user!r} cannot traverse {parent} (mode {stat.filemode(mode)}, no o+x); "
                f"set LOGWARDEN_DEVSTACK_DIR to a directory whose parents are all o+x, "
                f"or run: chmod o+x {parent}"
            )


def chown_tree(path: Path, user: str) -> None:
    subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)
