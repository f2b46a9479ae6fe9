"""docker/ stays consistent with the code.

No Docker engine runs these files in CI, so this test reads them: the compose services,
the ``LOGWARDEN_*`` settings they set (validated by ``app.settings``), the commands (parsed
by the real ``logwarden`` argument parser), the Keycloak realm and the Dockerfile.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from app.cli import build_parser
from app.settings import load_settings, unknown_env_names

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
REALM_FILE = DOCKER / "keycloak" / "logwarden-realm.json"

EXPECTED_SERVICES = {"kafka", "elasticsearch", "mongo", "redis", "keycloak", "worker", "web",
                     "generator"}
ROLES = {"viewer", "operator", "admin"}
USERS = {"alice": "admin", "olivia": "operator", "victor": "viewer"}


# ---------------------------------------------------------------- helpers
def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _is_ours(service: dict[str, Any]) -> bool:
    """Built from docker/Dockerfile with the repository root as context."""
    build = service.get("build")
    if not isinstance(build, dict):
        return False
    context = (COMPOSE_FILE.parent / build.get("context", ".")).resolve()
    dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
    return bool(context == ROOT and dockerfile == DOCKERFILE)


def _our_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in _services().items() if _is_ours(svc)}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["NAME=value", ...]
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return _dockerfile_cmd()
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _dockerfile_lines() -> list[str]:
    """Instructions with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _dockerfile_cmd() -> list[str]:
    """The image's default command: the last ENTRYPOINT followed by the last CMD."""
    found: dict[str, list[str]] = {"ENTRYPOINT": [], "CMD": []}
    for line in _dockerfile_lines():
        keyword, _, rest = line.partition(" ")
        if keyword.upper() in found:
            rest = rest.strip()
            parsed = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            found[keyword.upper()] = [str(w) for w in parsed]
    return found["ENTRYPOINT"] + found["CMD"]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in _dockerfile_lines():
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "ENV":
            for word in shlex.split(rest):
                name, sep, value = word.partition("=")
                if sep:
                    env[name] = value
    return env


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("app.cli.build_parser() has no subcommands")


def _container_ports(service: dict[str, Any]) -> set[int]:
    """Container side of the published ports ("[ip:]host:container" or long syntax)."""
    ports = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def _setting(settings: Any, env_name: str) -> Any:
    value = settings
    for part in env_name.removeprefix("LOGWARDEN_").lower().split("__"):
        value = getattr(value, part)
    return value


def _realm() -> dict[str, Any]:
    data = json.loads(REALM_FILE.read_text())
    assert isinstance(data, dict)
    return data


def _client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    clients = [c for c in realm.get("clients", []) if c.get("clientId") == client_id]
    assert len(clients) == 1, f"realm has no single client {client_id!r}"
    client: dict[str, Any] = clients[0]
    return client


def _use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, str]:
    """Make ``env``'s LOGWARDEN_ variables the only ones in the process; return them."""
    for name in list(os.environ):
        if name.startswith("LOGWARDEN_"):
            monkeypatch.delenv(name)
    ours = {k: v for k, v in env.items() if k.startswith("LOGWARDEN_")}
    for key, value in ours.items():
        monkeypatch.setenv(key, value)
    return ours


def _service_env(service: dict[str, Any]) -> dict[str, str]:
    """The container's environment: the image's ENV, then the service's overrides."""
    return {**_dockerfile_env(), **_environment(service)}


# ---------------------------------------------------------------- compose
def test_compose_has_every_service_and_no_version_key() -> None:
    compose = _compose()
    assert "version" not in compose, "the Compose spec has no `version:` key"
    missing = EXPECTED_SERVICES - set(_services())
    assert not missing, f"compose.yaml lacks services {sorted(missing)}"
    assert {"worker", "web", "generator"} <= set(_our_services()), \
        "worker, web and generator must be built from docker/Dockerfile"


def test_depends_on_targets_exist() -> None:
    services = _services()
    for name, svc in services.items():
        depends = svc.get("depends_on") or []
        targets = depends if isinstance(depends, list) else list(depends)
        for target in targets:
            assert target in services, f"{name} depends on unknown service {target!r}"
            if isinstance(depends, dict):
                condition = depends[target].get("condition", "service_started")
                if condition == "service_healthy":
                    assert "healthcheck" in services[target], \
                        f"{name} waits for {target} to be healthy, but it has no healthcheck"


def test_named_volumes_are_declared_and_workers_do_not_share_a_datadir() -> None:
    compose = _compose()
    declared = set(compose.get("volumes") or {})
    for name, svc in _services().items():
        for volume in svc.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source!r}"
    datadir_volumes = []
    for name, svc in _our_services().items():
        if _command(svc)[:2] != ["logwarden", "worker"]:
            continue
        datadir = _environment(svc).get("LOGWARDEN_WORKER__DATADIR")
        assert datadir, f"{name}: set LOGWARDEN_WORKER__DATADIR to a mounted volume"
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc.get("volumes") or []}
        assert datadir in mounts, f"{name}: no volume mounted at its datadir {datadir}"
        datadir_volumes.append(mounts[datadir])
    assert len(datadir_volumes) == len(set(datadir_volumes)), \
        "each worker needs its own data directory volume"


@pytest.mark.parametrize("name", sorted(_our_services()))
def test_logwarden_env_is_valid_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _use_env(monkeypatch, _service_env(_services()[name]))
    assert ours, f"{name} sets no LOGWARDEN_ variables"
    assert unknown_env_names(ours) == []
    settings = load_settings()
    for key, value in ours.items():
        got = _setting(settings, key)
        got = got.get_secret_value() if hasattr(got, "get_secret_value") else got
        assert str(got) == str(type(got)(value)), f"{name}: {key}={value!r} was not applied"


@pytest.mark.parametrize("name", sorted(_our_services()))
def test_command_is_a_real_logwarden_subcommand(name: str) -> None:
    command = _command(_services()[name])
    assert command[0] == "logwarden", f"{name}: command must start with `logwarden`"
    assert len(command) > 1 and command[1] in _subcommands(), \
        f"{name}: unknown subcommand in {command}"
    args = build_parser().parse_args(command[1:])  # exits (fails the test) on bad options
    assert args.command == command[1]


def test_worker_ports_and_healthchecks_match_web_port(monkeypatch: pytest.MonkeyPatch) -> None:
    ports_seen = []
    for name, svc in _our_services().items():
        if _command(svc)[:2] != ["logwarden", "worker"]:
            continue
        _use_env(monkeypatch, _service_env(svc))
        worker = load_settings().worker
        assert worker.web_host == "0.0.0.0", f"{name}: bind the web server to all interfaces"
        assert worker.web_port in _container_ports(svc), f"{name}: web port not published"
        health = " ".join(str(w) for w in svc["healthcheck"]["test"])
        assert f"localhost:{worker.web_port}/health" in health, \
            f"{name}: healthcheck must call /health on port {worker.web_port}"
        ports_seen.append(worker.web_port)
    assert len(ports_seen) >= 2 and len(set(ports_seen)) == len(ports_seen)


def test_oidc_settings_match_keycloak_realm() -> None:
    realm = _realm()
    services = _services()
    assert 8080 in _container_ports(services["keycloak"])
    for name, svc in _our_services().items():
        env = _environment(svc)
        issuer = urlsplit(env["LOGWARDEN_OIDC__ISSUER"])
        assert issuer.hostname in services, f"{name}: issuer host is no compose service"
        assert issuer.path == f"/realms/{realm['realm']}"
        client = _client(realm, env["LOGWARDEN_OIDC__CLIENT_ID"])
        assert client["secret"] == env["LOGWARDEN_OIDC__CLIENT_SECRET"]
        if _command(svc)[:2] == ["logwarden", "worker"]:
            port = int(env["LOGWARDEN_WORKER__WEB_PORT"])
            for host in ("localhost", "127.0.0.1"):
                assert f"http://{host}:{port}/*" in client["redirectUris"], \
                    f"{name}: realm lacks redirect URI for {host}:{port}"


def test_backing_service_addresses_match_compose() -> None:
    services = _services()
    for name, svc in _our_services().items():
        env = _environment(svc)
        for hostport in env["LOGWARDEN_KAFKA__BOOTSTRAP_SERVERS"].split(","):
            host = hostport.rsplit(":", 1)[0]
            assert host in services, f"{name}: Kafka host {host!r} is no compose service"
            listeners = _environment(services[host])["KAFKA_ADVERTISED_LISTENERS"]
            assert f"//{hostport}" in listeners, f"Kafka does not advertise {hostport}"
        for key in ("LOGWARDEN_ELASTICSEARCH__URL", "LOGWARDEN_MONGO__URL",
                    "LOGWARDEN_REDIS__URL"):
            url_host = urlsplit(env[key]).hostname
            assert url_host in services, f"{name}: {key} host {url_host!r} is no compose service"


# ---------------------------------------------------------------- images
def test_kafka_is_a_single_kraft_node() -> None:
    kafka = _services()["kafka"]
    env = _environment(kafka)
    assert kafka["image"] == "apache/kafka:3.9.1"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["CLUSTER_ID"], "the apache/kafka image requires CLUSTER_ID in KRaft mode"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert "kafka-topics.sh" in " ".join(kafka["healthcheck"]["test"])


def test_elasticsearch_image_matches_dev_stack_version() -> None:
    image = _services()["elasticsearch"]["image"]
    repo, _, tag = image.rpartition(":")
    assert repo == "docker.elastic.co/elasticsearch/elasticsearch"
    assert tag.startswith("8.19."), f"expected an 8.19.x image, got {tag}"
    versions = importlib.import_module("app.devstack.versions")
    pinned = set()
    for value in vars(versions).values():
        if isinstance(value, str) and "8.19" in value:
            pinned.add(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                attr = getattr(value, field.name)
                if isinstance(attr, str) and "8.19" in attr:
                    pinned.add(attr)
    assert pinned, "app.devstack.versions pins no 8.19 version"
    assert tag in pinned, f"compose uses Elasticsearch {tag}, the dev stack pins {pinned}"


# ---------------------------------------------------------------- Keycloak realm
def test_realm_roles_client_and_mapper() -> None:
    realm = _realm()
    assert realm["realm"] == "logwarden"
    assert realm["sslRequired"] == "none"
    assert {r["name"] for r in realm["roles"]["realm"]} >= ROLES
    client = _client(realm, "logwarden")
    assert client["publicClient"] is False
    assert client["standardFlowEnabled"] is True
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    mappers = [m for m in client.get("protocolMappers", [])
               if m["protocolMapper"] == "oidc-usermodel-realm-role-mapper"]
    assert mappers, "no realm-role mapper on the client"
    config = mappers[0]["config"]
    assert config["claim.name"] == "roles"
    for key in ("multivalued", "id.token.claim", "access.token.claim", "userinfo.token.claim"):
        assert config[key] == "true", f"roles mapper: {key} must be true"


def test_realm_users_need_no_first_login_step() -> None:
    users = {u["username"]: u for u in _realm()["users"]}
    assert set(users) >= set(USERS)
    for username, role in USERS.items():
        user = users[username]
        assert user["enabled"] is True
        assert user["emailVerified"] is True
        for key in ("email", "firstName", "lastName"):
            assert user.get(key), f"{username}: {key} missing (Keycloak would ask at login)"
        passwords = [c for c in user["credentials"] if c["type"] == "password"]
        assert passwords == [{"type": "password", "value": f"{username}-password",
                              "temporary": False}]
        assert role in user["realmRoles"]
        assert set(user["realmRoles"]) <= ROLES


def test_keycloak_imports_the_realm_file() -> None:
    keycloak = _services()["keycloak"]
    assert keycloak["image"].startswith("quay.io/keycloak/keycloak:26.")
    command = _command(keycloak)
    assert command[0] == "start-dev" and "--import-realm" in command
    mounts = [str(v).split(":") for v in keycloak["volumes"]]
    sources = {(COMPOSE_FILE.parent / src).resolve(): dst for src, dst, *_ in mounts}
    assert sources.get(REALM_FILE) == f"/opt/keycloak/data/import/{REALM_FILE.name}"


# ---------------------------------------------------------------- Dockerfile
def test_dockerfile_copies_every_package_and_runs_logwarden() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in includes}
    copied = set()
    for line in _dockerfile_lines():
        words = line.split()
        if words[0].upper() == "COPY" and not any(w.startswith("--from") for w in words):
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            copied |= {s.rstrip("/") for s in sources}
    missing = packages - copied
    assert not missing, f"Dockerfile does not COPY packages {sorted(missing)}"
    assert "pyproject.toml" in copied
    lines = _dockerfile_lines()
    assert lines[0].upper().startswith("FROM PYTHON:3.11-SLIM")
    assert any(re.fullmatch(r"RUN .*pip install \.", line) for line in lines), \
        "install the package with `pip install .` (no dev extras)"
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}, "the image must run as a non-root user"
    assert "EXPOSE 6066" in lines
    assert _dockerfile_cmd()[0] == "logwarden"
    assert _dockerfile_cmd()[1] in _subcommands()
