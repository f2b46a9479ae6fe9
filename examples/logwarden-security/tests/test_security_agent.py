"""The ``security`` plugin agent under the host's ``PluginHarness`` (no Kafka)."""

from __future__ import annotations

import orjson
import pytest
from logwarden_security.agent import SecurityConfig, plugin

from app.plugins.contracts import AgentPlugin
from app.plugins.testing import PluginHarness

IP = "203.0.113.77"


def events_message(service: str, users: list[str], *, ip: str = IP, t0: float = 0.0,
                   result: str = "failure") -> bytes:
    """One ``logs.events`` message: a JSON array of canonical events of one service."""
    return orjson.dumps([
        {"event_id": f"{service}-{ip}-{i}", "ts": f"2026-11-22T04:00:{int(t0) + i:02d}.000Z",
         "service": service, "message": "login failed",
         "attrs": {"user": user, "source_ip": ip, "auth_result": result}}
        for i, user in enumerate(users)])


async def route_and_detect(harness: PluginHarness, messages: list[tuple[bytes, bytes]]) -> None:
    await harness.run("route", messages)
    failures = harness.ctx.topics["failures"].get_topic_name()
    await harness.run("detect", [(k, v) for _, k, v in harness.sent_to(failures)])


def test_the_entry_point_object_is_a_valid_agent_plugin() -> None:
    assert isinstance(plugin, AgentPlugin)
    assert plugin.name == "security" and plugin.config is SecurityConfig
    with pytest.raises(ValueError, match="min_users"):
        SecurityConfig.model_validate({"min_users": 1})
    with pytest.raises(ValueError, match="typo"):
        SecurityConfig.model_validate({"typo": 1})


async def test_spraying_across_services_gives_one_finding() -> None:
    harness = PluginHarness(plugin, {"min_users": 4, "min_services": 2})
    assert harness.ctx.tables["spray"].name == "security-spray"
    await route_and_detect(harness, [
        (b"vpn", events_message("vpn", ["ann", "bob", "cat"])),
        (b"sso", events_message("sso", ["dan", "eve", "fay"], t0=10)),
        (b"sso", events_message("sso", ["joe"], ip="198.51.100.1")),  # another IP: no finding
        (b"web", events_message("web", ["x1", "x2", "x3", "x4"], ip="192.0.2.5",
                                result="success")),  # successes are not routed
    ])
    failures = harness.sent_to(harness.ctx.topics["failures"].get_topic_name())
    assert len(failures) == 7 and {k for _, k, _ in failures} == {IP.encode(), b"198.51.100.1"}
    findings = [orjson.loads(v) for _, _, v in harness.sent_to("security.findings")]
    assert len(findings) == 1, findings  # once per time frame, not once per further failure
    finding = findings[0]
    assert finding["source_ip"] == IP and finding["users"] == 4
    assert finding["services"] == ["sso", "vpn"]
    assert harness.ctx.tables["spray"][IP]["fired_at"] == finding["at"]
    assert harness.dead_letters == []


async def test_output_topic_from_settings_and_bad_messages_dead_lettered() -> None:
    harness = PluginHarness(plugin, {"min_users": 2, "min_services": 1,
                                     "output_topic": "my.findings"})
    await harness.run("detect", [(IP.encode(), b"{not json")])
    assert [letter.stage for letter in harness.dead_letters] == ["plugin"]
    await route_and_detect(harness, [(b"vpn", events_message("vpn", ["ann", "bob"]))])
    assert len(harness.sent_to("my.findings")) == 1
