from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ConfigError
from app.settings import load_settings


def test_defaults_are_valid() -> None:
    settings = load_settings()
    assert settings.kafka.partitions == 8
    assert settings.kafka.broker_url == "kafka://127.0.0.1:9092"


def test_env_overrides_with_nested_delimiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGWARDEN_KAFKA__PARTITIONS", "4")
    assert load_settings().kafka.partitions == 4


def test_yaml_file_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "lw.yaml"
    path.write_text("elasticsearch:\n  url: ftp://nope\n  bulk_max_wait_s: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert "elasticsearch.url [LOGWARDEN_ELASTICSEARCH__URL]" in message
    assert "ftp://nope" in message


def test_yaml_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lw.yaml"
    path.write_text("kafka:\n  partitons: 3\n")
    with pytest.raises(ConfigError, match=r"kafka\.partitons .*Extra inputs"):
        load_settings(path)


def test_unknown_env_section_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGWARDEN_ELASTICSERACH__URL", "http://x:9200")
    with pytest.raises(ConfigError, match="LOGWARDEN_ELASTICSERACH__URL"):
        load_settings()


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


def test_yaml_values_are_used_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lw.yaml"
    path.write_text("kafka:\n  partitions: 3\nworker:\n  web_port: 7000\n")
    monkeypatch.setenv("LOGWARDEN_WORKER__WEB_PORT", "7001")
    settings = load_settings(path)
    assert (settings.kafka.partitions, settings.worker.web_port) == (3, 7001)
