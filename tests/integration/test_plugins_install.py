"""Installed plugins as real distributions: a duplicate name, a plugin that fails to
import, ``plugins.strict`` — seen through the real CLI and a real worker (Kafka).

The distributions are real ``*.dist-info`` directories on ``PYTHONPATH``, which is all
``importlib.metadata`` reads; no test changes the project's virtualenv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Worker, isolated, mongo_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


def install_fake(site: Path, dist: str, entry_points: str, module: str = "",
                 source: str = "") -> None:
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    if module:
        (site / f"{module}.py").write_text(source)


@pytest.fixture()
def broken_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    install_fake(site, "broken-plugin", "[logwarden.agents]\nbroken = broken_plugin_mod:plugin\n"
                 "[logwarden.parsers]\nbrokenfmt = broken_plugin_mod:factory\n",
                 "broken_plugin_mod", "import libfoo_that_is_not_installed  # noqa\n")
    return site


def cli(args: list[str], env: dict[str, str], timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def with_site(env: dict[str, str], site: Path) -> dict[str, str]:
    return env | {"PYTHONPATH": str(site)}


def plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOGWARDEN_")}


def test_plugins_list_reports_a_failed_import_with_its_package(broken_site: Path) -> None:
    done = cli(["plugins", "list"], with_site(plain_env(), broken_site))
    assert done.returncode == 1, done.stderr
    failed = [line for line in done.stdout.splitlines() if "broken-plugin 0.1" in line]
    assert len(failed) == 2 and all("failed: ModuleNotFoundError" in line for line in failed)
    assert "libfoo_that_is_not_installed" in failed[0]
    assert "logwarden-security 0.1.0" in done.stdout  # the others still load
    assert "2 extension(s) failed to load" in done.stderr


def test_a_duplicate_name_stops_start_up_naming_both_packages(
        isolated: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    site = tmp_path / "site"
    install_fake(site, "dup-json", "[logwarden.parsers]\njson = dup_json_mod:factory\n")
    for command in (["plugins", "list"], ["worker"]):
        done = cli(command, with_site(isolated, site))
        assert done.returncode == 2, (command, done.stderr)
        assert "logwarden.parsers: the name 'json' is registered twice" in done.stderr
        assert "logwarden 0.1.0" in done.stderr and "dup-json 0.1" in done.stderr
        assert "Traceback" not in done.stderr


def test_strict_refuses_to_start_a_worker_with_a_broken_plugin(
        isolated: dict[str, str], broken_site: Path) -> None:  # noqa: F811
    env = with_site(isolated, broken_site) | {
        "LOGWARDEN_WORKER__AGENTS": '["parse", "broken"]', "LOGWARDEN_PLUGINS__STRICT": "true"}
    done = cli(["worker"], env, timeout=120)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "plugins.strict is set" in output and "Traceback" not in output
    assert "'broken' from broken-plugin 0.1 (broken_plugin_mod:plugin)" in output
    assert "ModuleNotFoundError" in output


def test_without_strict_the_worker_runs_and_logs_the_broken_plugin(
        isolated: dict[str, str], broken_site: Path, tmp_path: Path) -> None:  # noqa: F811
    env = with_site(isolated, broken_site) | {"LOGWARDEN_WORKER__AGENTS": '["parse", "broken"]'}
    worker = Worker(env, tmp_path / "worker.log")
    started = time.monotonic()
    worker.start()  # raises unless /health answers
    try:
        log = worker.log.read_text()
        assert "'broken' from broken-plugin 0.1" in log and "ModuleNotFoundError" in log
        assert "left out; set plugins.strict" in log
        assert time.monotonic() - started < 120
    finally:
        worker.stop()
