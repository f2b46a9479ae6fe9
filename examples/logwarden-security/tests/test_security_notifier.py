"""The ``jsonl`` notifier alone, and as logwarden's delivery finds it: a channel of the
channels file (``lw_notifier: jsonl``) resolved through the plugin registry."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from logwarden_security.notifier import JsonlNotifier

from app.adapters.apprise_channels import ChannelConfigError, load_channels
from app.core.notification import Notification


def note(key: str = "k1") -> Notification:
    return Notification(key=key, kind="firing", routes=("security",),
                        title="[FIRING:1] password-spraying (attrs.source_ip=203.0.113.77)",
                        body="7 distinct users", group="password-spraying|203.0.113.77",
                        created_at=1.7e9, severity="critical",
                        alerts=({"rule": "password-spraying",
                                 "labels": {"attrs.source_ip": "203.0.113.77"}},))


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_each_notification_is_one_json_line(tmp_path: Path) -> None:
    out = tmp_path / "notes.jsonl"
    notifier = JsonlNotifier.from_config({"path": str(out)})
    await notifier.send(note("k1"))
    await notifier.send(note("k2"))
    got = lines(out)
    assert [g["key"] for g in got] == ["k1", "k2"]
    assert Notification.from_json(orjson.dumps(got[0])) == note("k1")


@pytest.mark.parametrize(("options", "says"), [
    ({}, "path: Field required"),
    ({"path": "x", "mode": "w"}, "mode: Extra inputs are not permitted"),
])
def test_bad_options_are_value_errors_naming_the_option(options, says) -> None:
    with pytest.raises(ValueError, match=says):
        JsonlNotifier.from_config(options)


async def test_a_write_error_propagates(tmp_path: Path) -> None:
    notifier = JsonlNotifier.from_config({"path": str(tmp_path / "missing-dir" / "x.jsonl")})
    with pytest.raises(FileNotFoundError):
        await notifier.send(note())


def channels_yaml(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(f"version: 1\nurls:\n  - json://127.0.0.1:9/hook:\n      tag: ops\n"
                    f"      lw_channel: ops-webhook\n{entry}")
    return path


async def test_a_channel_of_the_channels_file_sends_through_it(tmp_path: Path) -> None:
    out = tmp_path / "security.jsonl"
    path = channels_yaml(tmp_path, f"  - lw_notifier: jsonl\n    lw_channel: security-file\n"
                                   f"    tag: security, audit\n    path: {out}\n")
    channels = load_channels(path, rate_per_minute=30)
    by_name = {c.name: c for c in channels.channels}
    assert by_name["security-file"].notifier == "jsonl"
    assert by_name["security-file"].tags == {"security", "audit"}
    assert by_name["ops-webhook"].notifier == "apprise"
    sent = await channels.send("security-file", note("k9"))
    assert sent.ok and [g["key"] for g in lines(out)] == ["k9"]
    # a failing send is a result, not an exception: delivery records it and retries
    out.unlink()
    out.mkdir()
    failed = await channels.send("security-file", note("k10"))
    assert not failed.ok and "IsADirectoryError" in str(failed.error)


def test_a_bad_option_in_the_channels_file_names_the_entry(tmp_path: Path) -> None:
    path = channels_yaml(tmp_path, "  - lw_notifier: jsonl\n    lw_channel: sec\n"
                                   "    tag: security\n    pth: /tmp/x\n")
    with pytest.raises(ChannelConfigError) as err:
        load_channels(path, rate_per_minute=30)
    assert str(err.value).startswith(f"{path}: entry #2 (lw_channel sec): notifier 'jsonl': ")
    assert "path: Field required" in str(err.value)
