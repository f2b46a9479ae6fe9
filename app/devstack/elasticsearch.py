"""Elasticsearch 8.19 integ-test distribution from Maven Central, run as non-root user ``es``."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

from app.devstack import maven
from app.devstack.base import Service
from app.devstack.config import HOST, port
from app.devstack.system import (
    check_traversable,
    chown_tree,
    ensure_user,
    is_root,
    java_home,
    require_command,
)
from app.devstack.versions import HEAPS, PINS

ES_USER = "es"
ARTIFACT = maven.Artifact(
    "org.elasticsearch.distribution.integ-test-zip", "elasticsearch", PINS.elasticsearch, "zip"
)


def url() -> str:
    return f"http://{HOST}:{port('elasticsearch')}"


def request(
    method: str, path: str, body: Any = None, base: str | None = None, timeout: float = 10.0
) -> tuple[dict[str, Any], dict[str, str]]:
    """JSON request to ES via urllib; returns (decoded body, response headers)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base or url()}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        decoded: dict[str, Any] = json.loads(resp.read() or b"{}")
        return decoded, headers


def cluster_health(base: str | None = None, timeout: float = 5.0) -> str:
    """GET /_cluster/health: status green/yellow and the X-Elastic-Product header."""
    health, headers = request("GET", "/_cluster/health", base=base, timeout=timeout)
    product = headers.get("x-elastic-product")
    if product != "Elasticsearch":
        raise RuntimeError(f"X-Elastic-Product header is {product!r}, expected 'Elasticsearch'")
    status = health.get("status")
    if status not in ("green", "yellow"):
        raise RuntimeError(f"cluster status is {status!r}")
    return f"cluster {health.get('cluster_name')} {status}"


class Elasticsearch(Service):
    name = "elasticsearch"
    port_keys = ("elasticsearch", "elasticsearch_transport")
    start_timeout = 150.0

    @property
    def home(self) -> Path:
        return self.layout.dist / f"elasticsearch-{PINS.elasticsearch}"

    @property
    def conf_dir(self) -> Path:
        return self.run_dir / "config"

    def endpoint(self) -> str:
        return url()

    def settings(self) -> str:
        return "\n".join(
            [
                "cluster.name: logwarden-devstack",
                "node.name: es-1",
                f"network.host: {HOST}",
                f"http.port: {port('elasticsearch')}",
                f"transport.port: {port('elasticsearch_transport')}",
                "discovery.type: single-node",
                f"path.data: {self.data_dir}",
                f"path.logs: {self.run_dir / 'logs'}",
                "xpack.security.enabled: false",
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "action.destructive_requires_name: false",
                "",
            ]
        )

    def prepare(self) -> None:
        if is_root():
            ensure_user(ES_USER)
            check_traversable(self.layout.root, ES_USER)
            check_traversable(java_home(), ES_USER)
        if not (self.home / "bin" / "elasticsearch").exists():
            maven.unpack(
                self.layout, self.name, ARTIFACT, f"elasticsearch-{PINS.elasticsearch}", self.home
            )
        # ES_PATH_CONF lives in the run dir, so the unpacked dist stays pristine.
        if not (self.conf_dir / "jvm.options").exists():
            shutil.copytree(self.home / "config", self.conf_dir, dirs_exist_ok=True)
        (self.conf_dir / "elasticsearch.yml").write_text(self.settings())
        heap = HEAPS.elasticsearch
        options = self.conf_dir / "jvm.options.d"
        options.mkdir(exist_ok=True)
        (options / "heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
        for sub in ("data", "logs"):
            (self.run_dir / sub).mkdir(exist_ok=True)
        if is_root():
            chown_tree(self.home, ES_USER)
            chown_tree(self.run_dir, ES_USER)

    def command(self) -> list[str]:
        es = [str(self.home / "bin" / "elasticsearch")]
        env = ["env", f"ES_JAVA_HOME={java_home()}", f"ES_PATH_CONF={self.conf_dir}"]
        if is_root():
            return [require_command("runuser", "util-linux"), "-u", ES_USER, "--", *env, *es]
        return [*env, *es]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.pop("JAVA_HOME", None)
        return env

    def check(self) -> str:
        return cluster_health()
