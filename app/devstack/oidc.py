"""OIDC provider: navikt mock-oauth2-server (JDK 17) with the interactive login form."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from app.devstack import maven
from app.devstack.base import Service
from app.devstack.config import HOST, port
from app.devstack.system import java
from app.devstack.versions import HEAPS, PINS

MAIN_CLASS = "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"
ISSUER_ID = "default"


def issuer() -> str:
    return f"http://{HOST}:{port('oidc')}/{ISSUER_ID}"


def get_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def discovery(issuer_url: str | None = None) -> dict[str, Any]:
    """Fetch the discovery document and check that its ``issuer`` matches."""
    expected = issuer_url or issuer()
    doc = get_json(f"{expected}/.well-known/openid-configuration")
    if doc.get("issuer") != expected:
        raise RuntimeError(f"issuer is {doc.get('issuer')!r}, expected {expected!r}")
    return doc


def jwks(issuer_url: str | None = None) -> dict[str, Any]:
    """The issuer's JWKS (via ``jwks_uri`` from discovery); must hold at least one key."""
    keys = get_json(str(discovery(issuer_url)["jwks_uri"]))
    if not keys.get("keys"):
        raise RuntimeError("JWKS has no keys")
    return keys


class Oidc(Service):
    name = "oidc"
    port_keys = ("oidc",)

    @property
    def libs(self) -> Path:
        return self.layout.dist / f"mock-oauth2-server-{PINS.mock_oauth2_server}" / "libs"

    @property
    def config_file(self) -> Path:
        return self.run_dir / "config.json"

    def endpoint(self) -> str:
        return issuer()

    def prepare(self) -> None:
        if not self.libs.is_dir():
            deps = [
                maven.Artifact("no.nav.security", "mock-oauth2-server", PINS.mock_oauth2_server),
                maven.Artifact("ch.qos.logback", "logback-classic", PINS.logback_classic),
            ]
            maven.copy_dependencies(self.layout, self.name, deps, self.libs)
        config = {"interactiveLogin": True, "httpServer": "NettyWrapper"}
        self.config_file.write_text(json.dumps(config, indent=2) + "\n")

    def command(self) -> list[str]:
        heap = HEAPS.oidc
        return [java(), f"-Xms{heap}", f"-Xmx{heap}", "-cp", f"{self.libs}/*", MAIN_CLASS]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            SERVER_HOSTNAME=HOST,
            SERVER_PORT=str(self.port),
            JSON_CONFIG_PATH=str(self.config_file),
        )
        env.pop("PORT", None)
        env.pop("JSON_CONFIG", None)
        return env

    def check(self) -> str:
        doc = discovery()
        return f"issuer {doc['issuer']}"
