"""All configuration in one validated object.

Sources, highest precedence first: keyword arguments, environment variables
(``LOGWARDEN_`` prefix, ``__`` between nested names, e.g.
``LOGWARDEN_ELASTICSEARCH__URL``), a YAML file (``LOGWARDEN_CONFIG_FILE`` or the
``config_file`` argument), then the defaults below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from app.core.errors import ConfigError

CONFIG_FILE_ENV = "LOGWARDEN_CONFIG_FILE"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    partitions: int = Field(8, ge=1, le=1024, description="partitions of every logwarden topic")
    replication_factor: int = Field(1, ge=1, le=16)

    @field_validator("bootstrap_servers")
    @classmethod
    def _hosts(cls, value: str) -> str:
        for hostport in value.split(","):
            host, _, port = hostport.strip().rpartition(":")
            if not host or not port.isdigit():
                msg = f"expected host:port[,host:port...], got {hostport!r}"
                raise ValueError(msg)
        return value

    @property
    def broker_url(self) -> str:
        """The Faust broker URL (``kafka://h1:p1;h2:p2``)."""
        return ";".join(f"kafka://{hp.strip()}" for hp in self.bootstrap_servers.split(","))


class TopicSettings(_Section):
    raw: str = "logs.raw"
    events: str = "logs.events"
    dlq: str = "logs.dlq"
    windows_closed: str = "windows.closed"


class IngestSettings(_Section):
    max_record_bytes: int = Field(64 * 1024, ge=256, le=16 * 1024 * 1024)
    max_batch_records: int = Field(10_000, ge=1, le=1_000_000)
    max_json_depth: int = Field(32, ge=2, le=512)
    parse_batch_size: int = Field(500, ge=1, description="Kafka messages per parse batch")
    parse_batch_wait_s: float = Field(0.2, gt=0)
    max_request_bytes: int = Field(8 * 1024 * 1024, ge=1024,
                                   description="largest HTTP ingest body (413 above)")
    gateway_batch_bytes: int = Field(512 * 1024, ge=1024,
                                     description="Kafka message size the gateway aims for")
    event_message_bytes: int = Field(
        512 * 1024, ge=1024, le=900 * 1024,
        description="largest logs.events message the parse agent sends (Kafka's default "
                    "limit is 1 MiB)")


class PatternSettings(_Section):
    """A user-defined format: a regex with named groups and a timestamp format."""

    regex: str
    timestamp_format: str | None = None
    timezone: str = "UTC"
    field_map: dict[str, str] = {}


class SourceSettings(_Section):
    """Assumptions for sources (Kafka keys) matching ``match`` (shell pattern)."""

    match: str
    format: str | None = None
    service: str | None = None
    timezone: str | None = None


class ParsingSettings(_Section):
    default_timezone: str = "UTC"
    patterns: dict[str, PatternSettings] = {}
    sources: list[SourceSettings] = []

    @model_validator(mode="after")
    def _catalog_builds(self) -> ParsingSettings:
        from app.core.parsing.catalog import ParserCatalog, PatternDef, SourceRule

        try:
            ParserCatalog(
                [PatternDef(name, p.regex, p.timestamp_format, p.timezone,
                            tuple(p.field_map.items())) for name, p in self.patterns.items()],
                [SourceRule(s.match, s.format, s.service, s.timezone) for s in self.sources],
                self.default_timezone)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self


def _default_enrichers() -> tuple[str, ...]:
    from app.core.enrichment.registry import DEFAULT_ENRICHERS  # imported on use: start-up

    return DEFAULT_ENRICHERS


class EnrichmentSettings(_Section):
    enrichers: list[str] = Field(default_factory=lambda: list(_default_enrichers()))
    config: dict[str, dict[str, Any]] = {}
    registry_refresh_s: float = Field(30.0, gt=0, description="service metadata reload period")

    @model_validator(mode="after")
    def _pipeline_builds(self) -> EnrichmentSettings:
        from app.core.enrichment.registry import check_pipeline

        try:
            check_pipeline(self.enrichers, self.config)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self


class ElasticsearchSettings(_Section):
    url: str = "http://127.0.0.1:9200"
    index_prefix: str = "logwarden-events"
    shards: int = Field(1, ge=1)
    replicas: int = Field(0, ge=0)
    bulk_max_messages: int = Field(200, ge=1, description="logs.events messages per bulk")
    bulk_max_wait_s: float = Field(1.0, gt=0)
    request_timeout_s: float = Field(30.0, gt=0)
    max_backoff_s: float = Field(30.0, gt=0)
    bulk_max_docs: int = Field(5_000, ge=1, description="documents per _bulk request")
    bulk_concurrency: int = Field(2, ge=1, le=32,
                                  description="_bulk requests in flight per worker")
    retention_days: int = Field(14, ge=1, description="daily indices kept")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = "must start with http:// or https://"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("index_prefix")
    @classmethod
    def _lower(cls, value: str) -> str:
        if value != value.lower() or not value or value.startswith(("-", "_", "+")):
            msg = "Elasticsearch index names are lowercase and cannot start with -, _ or +"
            raise ValueError(msg)
        return value


class MongoSettings(_Section):
    url: str = "mongodb://127.0.0.1:27017"
    database: str = "logwarden"
    max_backoff_s: float = Field(30.0, gt=0)


class RedisSettings(_Section):
    url: str = "redis://127.0.0.1:6380/0"
    window_ttl_s: int = Field(3600, ge=10, description="TTL of cached window stats")
    recent_windows: int = Field(60, ge=1, description="recent windows cached per service")


class WindowSettings(_Section):
    service_sizes_s: tuple[int, ...] = Field((10, 60), min_length=1,
                                             description="tumbling window sizes per service")
    route_sizes_s: tuple[int, ...] = Field((60,), description="window sizes per (service, route)")
    grace_s: float = Field(5.0, ge=0, description="how late an event may be (event time)")
    idle_after_s: float = Field(30.0, gt=0,
                                description="wall-clock quiet before a partition's watermark "
                                            "advances by itself")
    close_interval_s: float = Field(1.0, gt=0, description="how often windows are closed")
    silent_after_s: float = Field(3600.0, gt=0,
                                  description="a silent service gets empty windows this long")
    batch_size: int = Field(500, ge=1, description="logs.events messages per aggregate batch")
    batch_wait_s: float = Field(0.5, gt=0)
    retention_s: float = Field(7 * 86400.0, gt=0, description="closed windows kept in MongoDB")

    @field_validator("service_sizes_s", "route_sizes_s")
    @classmethod
    def _divide_a_minute(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        for size in sizes:
            if size <= 0 or (size < 60 and 60 % size) or (size >= 60 and size % 60):
                msg = f"window size {size}s must divide a minute or be whole minutes"
                raise ValueError(msg)
        return tuple(sorted(set(sizes)))


class OidcSettings(_Section):
    issuer: str = "http://127.0.0.1:8090/default"
    client_id: str = "logwarden"
    client_secret: SecretStr = SecretStr("logwarden-secret")


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(1025, ge=1, le=65535)


#: The stream agents of ``agents/``, by name (the module ``agents.<name>``).
BUILTIN_AGENTS = ("parse", "index", "aggregate")


class WorkerSettings(_Section):
    app_id: str = "logwarden"
    store: Literal["memory://", "rocksdb://"] = "memory://"
    datadir: Path = Path(".run/worker")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    agents: tuple[str, ...] = Field(
        BUILTIN_AGENTS, min_length=1,
        description="agents this worker runs; e.g. index,aggregate under a new app_id "
                    "rebuilds Elasticsearch and MongoDB by replaying logs.events")

    @field_validator("agents")
    @classmethod
    def _known_agents(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in BUILTIN_AGENTS]
        if unknown:
            msg = f"unknown agent(s) {', '.join(unknown)}; known: {', '.join(BUILTIN_AGENTS)}"
            raise ValueError(msg)
        return value


class Settings(BaseSettings):
    """The whole configuration. Validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="LOGWARDEN_", env_nested_delimiter="__", extra="forbid", frozen=True)

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    ingest: IngestSettings = IngestSettings()
    parsing: ParsingSettings = ParsingSettings()
    enrichment: EnrichmentSettings = EnrichmentSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    mongo: MongoSettings = MongoSettings()
    redis: RedisSettings = RedisSettings()
    windows: WindowSettings = WindowSettings()
    oidc: OidcSettings = OidcSettings()
    smtp: SmtpSettings = SmtpSettings()
    worker: WorkerSettings = WorkerSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings]
        path = _CONFIG_FILE.get("path")
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


# The YAML path is chosen per load; pydantic-settings reads it in the hook above.
_CONFIG_FILE: dict[str, Path | None] = {"path": None}



def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings; raise ``ConfigError`` naming file and field."""
    raw_path = config_file if config_file is not None else os.environ.get(CONFIG_FILE_ENV)
    path = Path(raw_path) if raw_path else None
    if path is not None and not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    unknown = unknown_env_names(os.environ)
    if unknown:
        raise ConfigError("unknown configuration variables in the environment: "
                          + ", ".join(unknown) + " (sections: "
                          + ", ".join(Settings.model_fields) + ")")
    _CONFIG_FILE["path"] = path
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except SettingsError as exc:  # a list or mapping variable that is not JSON
        raise ConfigError(f"invalid configuration (environment): {exc}; list and mapping "
                          "values are JSON, e.g. LOGWARDEN_WORKER__AGENTS='[\"index\"]'"
                          ) from None
    finally:
        _CONFIG_FILE["path"] = None


#: ``LOGWARDEN_*`` variables that are not settings fields (read by other tools).
_NOT_SETTINGS = (CONFIG_FILE_ENV, "LOGWARDEN_DEVSTACK_")


def unknown_env_names(environ: Mapping[str, str]) -> list[str]:
    """``LOGWARDEN_*`` variables that name no section: typos would be ignored otherwise."""
    sections = {name.upper() for name in Settings.model_fields}
    unknown = []
    for name in environ:
        if not name.startswith("LOGWARDEN_") or name.startswith(_NOT_SETTINGS):
            continue
        section = name.removeprefix("LOGWARDEN_").split("__", 1)[0]
        if section not in sections:
            unknown.append(name)
    return sorted(unknown)


def format_validation_error(exc: ValidationError, path: Path | None) -> str:
    origin = f"file {path} or environment" if path else "environment"
    lines = [f"invalid configuration ({origin}):"]
    for err in exc.errors():
        dotted = ".".join(str(p) for p in err["loc"]) or "(root)"
        env_name = "LOGWARDEN_" + "__".join(str(p).upper() for p in err["loc"])
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {dotted} [{env_name}]: {err['msg']}{shown}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
