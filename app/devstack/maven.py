"""Resolve Maven Central artifacts once: ~/.m2 is the download cache, the state dir the copy.

Callers first check whether the unpacked runtime exists; only if not do they call
these functions, which run ``mvn -o`` when the artifacts are already in the local
repository and fall back to an online run otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.devstack.config import DevstackError, Layout, display, maven_repo
from app.devstack.system import java_home, require_command
from app.devstack.versions import PINS

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PLUGIN = f"org.apache.maven.plugins:maven-dependency-plugin:{PINS.maven_dependency_plugin}"


@dataclass(frozen=True)
class Artifact:
    group: str
    artifact: str
    version: str
    type: str = "jar"

    @property
    def coords(self) -> str:
        suffix = "" if self.type == "jar" else f":{self.type}"
        return f"{self.group}:{self.artifact}:{self.version}{suffix}"

    def local_file(self, repo: Path) -> Path:
        return (
            repo.joinpath(*self.group.split("."), self.artifact, self.version)
            / f"{self.artifact}-{self.version}.{self.type}"
        )

    def pom_entry(self) -> str:
        type_ = "" if self.type == "jar" else f"<type>{self.type}</type>"
        return (
            f"    <dependency><groupId>{self.group}</groupId>"
            f"<artifactId>{self.artifact}</artifactId><version>{self.version}</version>"
            f"{type_}</dependency>\n"
        )


def pom_xml(name: str, deps: Sequence[Artifact]) -> str:
    entries = "".join(d.pom_entry() for d in deps)
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <groupId>local.logwarden.devstack</groupId><artifactId>{name}-runtime</artifactId>\n"
        "  <version>1</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n{entries}  </dependencies>\n"
        "</project>\n"
    )


def _partial(dest: Path) -> Path:
    part = dest.with_name(f".{dest.name}.partial")
    if part.exists():
        shutil.rmtree(part)
    part.mkdir(parents=True)
    return part


def _run(layout: Layout, service: str, deps: Sequence[Artifact], args: list[str]) -> None:
    """Run Maven (offline first if every artifact is cached), raising a clear error."""
    mvn = require_command("mvn", "maven")
    repo = maven_repo()
    workdir = layout.maven_dir(service)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "maven.log"
    what = ", ".join(d.coords for d in deps)
    base = [mvn, "-B", "-q", "-Dstyle.color=never", f"-Dmaven.repo.local={repo}"]
    cached = all(d.local_file(repo).exists() for d in deps)
    attempts = [[*base, "-o", *args]] if cached else []
    attempts.append([*base, *args])
    env = {**os.environ, "JAVA_HOME": str(java_home())}
    output = ""
    for argv in attempts:
        mode = "offline" if "-o" in argv else "online"
        print(f"  maven ({mode}): resolving {what}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            argv, cwd=workdir, env=env, capture_output=True, text=True, check=False
        )
        output = ANSI.sub("", proc.stdout + proc.stderr)
        log.write_text(f"$ {' '.join(argv)}\n{output}")
        if proc.returncode == 0:
            print(f"  maven ({mode}): done in {time.monotonic() - started:.1f}s", flush=True)
            return
    last = "\n".join("    " + line for line in output.strip().splitlines()[-15:])
    raise DevstackError(
        f"{service}: download of {what} failed (Maven log: {display(log)}); "
        f"last lines of Maven output:\n{last}"
    )


def copy_dependencies(layout: Layout, service: str, deps: Sequence[Artifact], dest: Path) -> None:
    """Resolve ``deps`` with their runtime closure into the jar folder ``dest``."""
    pom = layout.maven_dir(service) / "pom.xml"
    pom.parent.mkdir(parents=True, exist_ok=True)
    pom.write_text(pom_xml(service, deps))
    part = _partial(dest)
    goal = f"{PLUGIN}:copy-dependencies"
    try:
        _run(
            layout,
            service,
            deps,
            ["-f", str(pom), goal, "-DincludeScope=runtime", f"-DoutputDirectory={part}"],
        )
    except DevstackError:
        shutil.rmtree(part, ignore_errors=True)
        raise
    if not any(part.glob("*.jar")):
        raise DevstackError(f"{service}: Maven copied no jars into {part}")
    if dest.exists():
        shutil.rmtree(dest)
    part.rename(dest)


def unpack(layout: Layout, service: str, archive: Artifact, top: str, dest: Path) -> None:
    """Unpack ``archive`` (whose single top folder is ``top``) to ``dest``."""
    part = _partial(dest)
    goal = f"{PLUGIN}:unpack"
    try:
        _run(
            layout,
            service,
            [archive],
            # Without a project, unpack keeps "already unpacked" marker files under a
            # literal ${project.basedir}/target and then silently skips the next unpack.
            [
                goal,
                f"-Dartifact={archive.coords}",
                f"-DoutputDirectory={part}",
                "-Dmdep.overWriteReleases=true",
            ],
        )
    except DevstackError:
        shutil.rmtree(part, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(layout.maven_dir(service) / "${project.basedir}", ignore_errors=True)
    if not (part / top).is_dir():
        shutil.rmtree(part, ignore_errors=True)
        raise DevstackError(f"{service}: {archive.coords} did not contain {top}/")
    if dest.exists():
        shutil.rmtree(dest)
    (part / top).rename(dest)
    shutil.rmtree(part)
