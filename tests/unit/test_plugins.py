"""The plugin registry: entry-point discovery, duplicates, load failures, strict mode,
built-ins declared in pyproject.toml, settings sections, agent installation, the CLI."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import orjson
import pytest

from app.core.enrichment.registry import builtin_enrichers
from app.core.errors import ConfigError
from app.core.parsing.catalog import BUILTIN
from app.plugins import (
    GROUPS,
    DuplicateExtension,
    Extension,
    PluginError,
    PluginLoadFailed,
    PluginRegistry,
    registry,
)
from app.plugins.contracts import AgentPlugin, PluginConfig
from app.plugins.worker import install_agents
from app.settings import BUILTIN_AGENTS, load_settings

ROOT = Path(__file__).resolve().parents[2]


def ext(kind: str, name: str, target: str, dist: str = "logwarden", obj: Any = None,
        version: str = "0.1.0") -> Extension:
    extension = Extension(kind=kind, name=name, target=target, dist=dist, version=version)
    if obj is not None:
        extension._obj = obj
    return extension


# -- built-ins are entry points of our own pyproject.toml --------------------------------
def test_pyproject_declares_every_group_the_registry_reads() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert {"logwarden.agents", "logwarden.parsers", "logwarden.enrichers",
            "logwarden.sinks"} <= set(declared)
    assert set(declared) <= set(GROUPS.values()) | {"console_scripts"}


def test_builtin_parsers_and_enrichers_come_from_entry_points_unchanged() -> None:
    reg = registry()
    parsers = {e.name: e.load() for e in reg.extensions("parsers") if e.dist == "logwarden"}
    assert parsers == BUILTIN
    enrichers = {e.name: e.load() for e in reg.extensions("enrichers") if e.dist == "logwarden"}
    assert enrichers == builtin_enrichers()


def test_default_agents_are_registered() -> None:
    names = registry().names("agents")
    assert set(BUILTIN_AGENTS) <= set(names)
    agent = registry().get("agents", "parse")
    assert agent is not None and (agent.dist, agent.target) == ("logwarden", "agents.parse")


def test_the_example_plugin_is_discovered_with_its_origin() -> None:
    reg = registry()
    cef, security, rule = (reg.get("parsers", "cef"), reg.get("agents", "security"),
                           reg.get("rule_types", "distinct_count"))
    assert cef is not None and security is not None and rule is not None
    assert {cef.dist, security.dist, rule.dist} == {"logwarden-security"}
    assert isinstance(security.load(), AgentPlugin)
    fed: list[tuple[str, Any]] = []
    assert "distinct_count" in reg.feed("rule_types", lambda n, o: fed.append((n, o)))
    assert dict(fed)["distinct_count"].name == "distinct_count"


# -- duplicates and failures -------------------------------------------------------------
def test_a_duplicate_name_fails_naming_both_packages() -> None:
    with pytest.raises(DuplicateExtension) as raised:
        PluginRegistry([ext("parsers", "json", "app.core.parsing.catalog:json_parser"),
                        ext("parsers", "json", "evil.json:Parser", dist="evil-json",
                            version="2.0")])
    message = str(raised.value)
    assert "logwarden 0.1.0" in message and "evil-json 2.0" in message
    assert "logwarden.parsers" in message and "'json'" in message


def test_the_same_name_in_two_groups_is_not_a_duplicate() -> None:
    reg = PluginRegistry([ext("parsers", "cef", "a:b"), ext("rule_types", "cef", "c:d")])
    assert reg.names("parsers") == reg.names("rule_types") == ["cef"]


def test_discovery_reads_every_group_with_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_entry_points(group: str) -> list[Any]:
        dist = SimpleNamespace(name="acme-plugins", version="1.2.3")
        return [SimpleNamespace(name=f"x_{group.split('.')[1]}", value="acme:thing", dist=dist)]

    monkeypatch.setattr("app.plugins.metadata.entry_points", fake_entry_points)
    reg = PluginRegistry.discover()
    assert [e.name for e in reg.extensions()] == [f"x_{kind}" for kind in GROUPS]
    assert {e.origin for e in reg.extensions()} == {"acme-plugins 1.2.3"}

    def duplicated(group: str) -> list[Any]:
        return [SimpleNamespace(name="same", value=f"{d}:x", dist=SimpleNamespace(
            name=d, version="1")) for d in ("first-dist", "second-dist")]

    monkeypatch.setattr("app.plugins.metadata.entry_points", duplicated)
    with pytest.raises(DuplicateExtension, match=r"first-dist 1.*second-dist 1"):
        PluginRegistry.discover()


def test_a_failing_import_is_recorded_left_out_and_strict_refuses(
        caplog: pytest.LogCaptureFixture) -> None:
    reg = PluginRegistry([
        ext("parsers", "json", "app.core.parsing.catalog:json_parser"),
        ext("parsers", "broken", "no_such_module_here:factory", dist="broken-plugin"),
        ext("parsers", "typo", "app.core.parsing.catalog:no_such_factory", dist="typo-plugin"),
    ])
    loaded = reg.load_all("parsers")
    assert set(loaded) == {"json"}
    failures = {e.name: e for e in reg.failures()}
    assert set(failures) == {"broken", "typo"}
    assert failures["broken"].error is not None
    assert failures["broken"].error.startswith("ModuleNotFoundError")
    assert "AttributeError" in str(failures["typo"].error)
    with caplog.at_level(logging.WARNING, logger="app.plugins"):
        reg.check(strict=False)
    assert "broken-plugin 0.1.0" in caplog.text and "no_such_module_here" in caplog.text
    with pytest.raises(PluginLoadFailed, match=r"broken-plugin 0\.1\.0.*ModuleNotFoundError"):
        reg.check(strict=True)
    with pytest.raises(PluginLoadFailed):  # a failure is remembered, not retried
        failures["broken"].load()


# -- settings ---------------------------------------------------------------------------
def test_a_source_rule_may_name_a_plugin_parser() -> None:
    settings = load_settings(parsing={"sources": [{"match": "fw-*", "format": "cef"}]})
    assert settings.parsing.sources[0].format == "cef"


def test_worker_agents_resolve_through_the_registry() -> None:
    assert load_settings(worker={"agents": ["parse", "security"]}).worker.agents == (
        "parse", "security")
    with pytest.raises(ConfigError, match=r"unknown agent.*nope.*security"):
        load_settings(worker={"agents": ["parse", "nope"]})


def test_plugin_sections_are_kept_for_the_plugin_to_validate() -> None:
    settings = load_settings(plugins={"strict": True, "security": {"min_users": "5"}})
    assert settings.plugins.strict is True
    assert settings.plugins.sections() == {"security": {"min_users": "5"}}
    with pytest.raises(ConfigError, match=r"plugins.security must be a mapping"):
        load_settings(plugins={"security": 5})


# -- installing agents ------------------------------------------------------------------
class DemoConfig(PluginConfig):
    level: int = 1


def demo_plugin(calls: list[Any]) -> AgentPlugin:
    def register(ctx: Any) -> None:
        calls.append(ctx)

        @ctx.agent(ctx.input_topic, name="count")
        async def count(stream: Any) -> None:
            async for _ in stream:
                pass

    return AgentPlugin(name="demo", version="9.9", register=register, config=DemoConfig,
                       output="demo.out")


def fresh_app() -> tuple[Any, dict[str, Any]]:
    app = faust.App("plugins-unit", store="memory://", autodiscover=False)
    return app, {name: app.topic(f"t.{name}") for name in ("raw", "events", "dlq",
                                                            "windows_closed")}


def test_install_agents_validates_sections_and_leaves_out_failures() -> None:
    calls: list[Any] = []
    reg = PluginRegistry([
        ext("agents", "demo", "demo:plugin", dist="demo-plugin", obj=demo_plugin(calls)),
        ext("agents", "broken", "no_such_module_here:plugin", dist="broken-plugin"),
    ])
    app, topics = fresh_app()
    settings = load_settings(plugins={"demo": {"level": 3, "output_topic": "x.out"}})
    settings = settings.model_copy(update={"worker": settings.worker.model_copy(
        update={"agents": ("demo", "broken")})})
    installed = install_agents(app, settings, topics, reg=reg)
    assert list(installed) == ["demo"]
    ctx = calls[0]
    assert ctx.settings == DemoConfig(level=3, output_topic="x.out")
    assert ctx.output_topic.get_topic_name() == "x.out"
    assert ctx.input_topic is topics["events"]
    assert "demo.count" in app.agents
    assert [e.dist for e in reg.failures()] == ["broken-plugin"]

    strict = settings.model_copy(update={"plugins": load_settings(
        plugins={"strict": True}).plugins})
    with pytest.raises(PluginLoadFailed, match="broken-plugin"):
        install_agents(fresh_app()[0], strict, topics, reg=reg)


@pytest.mark.parametrize(("plugins", "message"), [
    ({"demo": {"level": "high"}}, r"plugins\.demo\.level"),
    ({"demo": {"typo": 1}}, r"plugins\.demo\.typo"),
    ({"unknown_plugin": {}}, r"plugins\.unknown_plugin name no registered agent"),
])
def test_install_agents_rejects_bad_sections(plugins: dict[str, Any], message: str) -> None:
    reg = PluginRegistry([ext("agents", "demo", "demo:plugin", obj=demo_plugin([]))])
    settings = load_settings(plugins=plugins)
    settings = settings.model_copy(update={"worker": settings.worker.model_copy(
        update={"agents": ("demo",)})})
    with pytest.raises(PluginError, match=message):
        install_agents(fresh_app()[0], settings, fresh_app()[1], reg=reg)


def test_an_entry_point_naming_something_else_is_refused() -> None:
    reg = PluginRegistry([ext("agents", "odd", "x:y", obj=42)])
    settings = load_settings()
    settings = settings.model_copy(update={"worker": settings.worker.model_copy(
        update={"agents": ("odd",)})})
    with pytest.raises(PluginError, match="names a int, expected"):
        install_agents(fresh_app()[0], settings, fresh_app()[1], reg=reg)


@pytest.mark.parametrize("name", ["Security", "a-b", "", "x" * 41])
def test_plugin_names_are_settings_and_topic_safe(name: str) -> None:
    with pytest.raises(ValueError, match="plugin name"):
        AgentPlugin(name=name, version="1", register=lambda ctx: None)


# -- CLI --------------------------------------------------------------------------------
def test_plugins_list_shows_every_extension_with_its_package(
        capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    assert main(["plugins", "list", "--json"]) == 0
    rows = orjson.loads(capsys.readouterr().out)
    by_name = {(r["group"], r["name"]): r for r in rows}
    assert by_name[("logwarden.parsers", "json")]["package"] == "logwarden"
    assert by_name[("logwarden.parsers", "cef")]["package"] == "logwarden-security"
    security = by_name[("logwarden.agents", "security")]
    assert security["status"] == "ok" and "plugin security 0.1.0" in security["detail"]
    assert {r["group"] for r in rows} >= {"logwarden.agents", "logwarden.parsers",
                                         "logwarden.enrichers", "logwarden.rule_types",
                                         "logwarden.sinks"}
    assert main(["plugins", "list"]) == 0
    text = capsys.readouterr().out
    assert "logwarden-security 0.1.0" in text and "GROUP" in text


def test_feed_registers_into_another_registry_and_records_refusals() -> None:
    class Good:
        name = "good"

    reg = PluginRegistry([ext("rule_types", "good", "x:Good", obj=Good),
                          ext("rule_types", "odd", "x:odd", dist="odd-rules", obj=object())])
    target: dict[str, Any] = {}

    def register_rule_type(name: str, cls: Any) -> None:  # the shape H1's registry has
        if not isinstance(cls, type):
            raise TypeError(f"{cls!r} is not a RuleType subclass")
        target[name] = cls

    assert reg.feed("rule_types", register_rule_type) == ["good"]
    assert target == {"good": Good}
    [failed] = reg.failures()
    assert failed.dist == "odd-rules" and "refused by the rule_types registry" in str(failed.error)
    with pytest.raises(PluginLoadFailed, match="odd-rules"):
        reg.check(strict=True)


async def test_context_sinks_timers_and_metrics() -> None:
    from app.adapters.elasticsearch import ElasticsearchSink
    from app.plugins.testing import PluginHarness

    def register(ctx: Any) -> None:
        @ctx.timer(30.0)
        async def tick() -> None:
            pass

    harness = PluginHarness(AgentPlugin(name="sinky", version="1", register=register))
    assert len(harness.app._app_tasks) == 1
    sink = harness.ctx.sink("elasticsearch")
    assert isinstance(sink, ElasticsearchSink)
    await sink.close()
    with pytest.raises(KeyError, match=r"no sink named 'nope'.*elasticsearch"):
        harness.ctx.sink("nope")
    counter = harness.ctx.metrics.counter("things_total", "Things")
    assert counter is harness.ctx.metrics.counter("things_total", "Things")  # no re-register
    counter.inc()
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("logwarden_plugin_sinky_things_total") == 1.0
