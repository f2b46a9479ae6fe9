"""The Apprise channel file: channels with names, tags, kinds and rates; errors that
name the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.apprise_channels import (
    AppriseNotifier,
    ChannelConfigError,
    load_channels,
    registered_notifier,
)
from app.core.delivery import ChannelKind

REPO = Path(__file__).resolve().parents[3]
MAIL = "mailto://127.0.0.1:1025?mode=insecure&from=lw@example.test&to=ops@example.test"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(text)
    return path


def test_the_default_file_has_the_dev_stack_mail_sink_and_a_webhook():
    channels = load_channels(REPO / "alert_rules/channels.yaml", rate_per_minute=30)
    by_name = {c.name: c for c in channels.channels}
    assert by_name["ops-email"].kind is ChannelKind.EMAIL
    assert by_name["ops-email"].tags == {"ops", "email"}
    assert by_name["ops-webhook"].kind is ChannelKind.JSON
    assert by_name["ops-webhook"].tags == {"ops", "webhook"}
    assert channels.url("ops-email").startswith("mailto://127.0.0.1:1025")


def test_sibling_form_global_tags_and_rate_overrides(tmp_path):
    path = write(tmp_path, f"""
version: 1
tag: all
urls:
  - {MAIL}:
    tag: ops
    lw_channel: mail
  - json://127.0.0.1:9/x:
      tag: webhook
      lw_channel: hook
""")
    channels = load_channels(path, rate_per_minute=30, channel_rates={"hook": 6})
    assert [(c.name, set(c.tags), c.rate_per_minute) for c in channels.channels] == [
        ("mail", {"ops", "all"}, 30), ("hook", {"webhook", "all"}, 6)]


@pytest.mark.parametrize(("body", "says"), [
    ("urls: []", "non-empty 'urls:' list"),
    ("version: 1\nurls:\n  - json://127.0.0.1:9/x\n", "entry #1: write the URL as a mapping"),
    ("version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      tag: a\n",
     "entry #1: 'lw_channel:' must name the channel"),
    ("version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      tag: a\n      lw_channel: Bad Name\n",
     "'lw_channel:' must name the channel"),
    ("version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      lw_channel: a\n",
     "entry #1 (lw_channel a): no 'tag:'"),
    ("version: 1\nurls:\n  - nosuch://x:\n      tag: a\n      lw_channel: n\n",
     "entry #1 (lw_channel n): Apprise could not load it: Unparseable URL nosuch://x"),
    ("version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      tag: a\n      lw_channel: a\n"
     "  - json://127.0.0.1:9/y:\n      tag: a\n      lw_channel: a\n",
     "entry #2: channel name 'a' is used twice"),
    ("version: 1\nurls:\n  - json://127.0.0.1:9/x:\n      - tag: a\n      - tag: b\n",
     "entry #1: a list of settings makes several channels"),
    ("version: 1\nurls: [\n", "not valid YAML"),
])
def test_mistakes_name_the_file_and_the_entry(tmp_path, body, says):
    path = write(tmp_path, body)
    with pytest.raises(ChannelConfigError) as err:
        load_channels(path, rate_per_minute=30)
    assert str(err.value).startswith(str(path)) and says in str(err.value)


def test_a_rate_override_for_an_unknown_channel_is_an_error(tmp_path):
    path = write(tmp_path, "urls:\n  - json://127.0.0.1:9/x:\n      tag: a\n"
                           "      lw_channel: a\n")
    with pytest.raises(ChannelConfigError, match="unknown channel"):
        load_channels(path, rate_per_minute=30, channel_rates={"typo": 1})


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ChannelConfigError, match=r"nothere\.yaml: cannot read"):
        load_channels(tmp_path / "nothere.yaml", rate_per_minute=30)


class Recorder:
    """A notifier class for the lookup: keeps what it was built with and sent."""

    name = "recorder"
    sent: list[str] = []

    def __init__(self, options):
        self.options = dict(options)

    @classmethod
    def from_config(cls, options):
        if "bad" in options:
            raise ValueError("bad: not an option")
        return cls(options)

    async def send(self, notification):
        Recorder.sent.append(notification.key)


def lookup(name: str):
    if name == "recorder":
        return Recorder
    return registered_notifier(name)


def test_every_channel_has_a_notifier_from_the_registry(tmp_path):
    """Apprise URLs are the built-in notifier ``apprise`` (``logwarden.notifiers``);
    ``lw_notifier:`` names another one, whose options are the entry's other keys."""
    assert registered_notifier("apprise") is AppriseNotifier
    path = write(tmp_path, """
version: 1
tag: all
urls:
  - json://127.0.0.1:9/x:
      tag: hook
      lw_channel: hook
  - lw_notifier: recorder
    lw_channel: rec
    tags: [a, b]
    target: somewhere
    level: 3
""")
    channels = load_channels(path, rate_per_minute=30, notifiers=lookup)
    assert [(c.name, c.notifier, set(c.tags)) for c in channels.channels] == [
        ("hook", "apprise", {"hook", "all"}), ("rec", "recorder", {"a", "b", "all"})]
    assert channels.url("rec") == "lw_notifier recorder"
    assert channels._loaded["rec"].notifier.options == {"target": "somewhere", "level": 3}


@pytest.mark.parametrize(("entry", "says"), [
    ("  - lw_notifier: nosuch\n    lw_channel: n\n    tag: a\n",
     "entry #1 (lw_channel n): no notifier 'nosuch' is registered (logwarden.notifiers: "
     "apprise"),
    ("  - lw_notifier: recorder\n    lw_channel: n\n    tag: a\n    bad: 1\n",
     "entry #1 (lw_channel n): notifier 'recorder': bad: not an option"),
    ("  - lw_notifier: recorder\n    lw_channel: n\n", "entry #1 (lw_channel n): no 'tag:'"),
    ("  - lw_notifier: recorder\n    tag: a\n", "entry #1: 'lw_channel:' must name"),
    ("  - json://127.0.0.1:9/x:\n      tag: a\n      lw_channel: a\n    lw_notifier: recorder\n",
     "entry #1: 'lw_notifier: recorder' takes options, not a URL"),
])
def test_plugin_notifier_mistakes_name_the_entry(tmp_path, entry, says):
    path = write(tmp_path, "version: 1\nurls:\n" + entry)
    with pytest.raises(ChannelConfigError) as err:
        load_channels(path, rate_per_minute=30, notifiers=lookup)
    assert str(err.value).startswith(str(path)) and says in str(err.value), str(err.value)
