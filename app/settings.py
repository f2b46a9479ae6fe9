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
    fetch_max_wait_ms: int = Field(
        500, ge=1, le=30_000,
        description="longest a broker holds the worker's fetch when it has no new records "
                    "(Faust hard-codes 1500: records of a partition left out of the parked "
                    "fetch wait that long; app/consumer_fetch.py)")
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none",
        description="codec of the record batches the worker writes (logs.events, changelogs, "
                    "dead letters, ...) and of logs.raw from the ingest gateway, syslog "
                    "listener, shipper and generator. zstd stores and sends logs.events 10x "
                    "smaller for ~20 % more CPU in the worker's Kafka transfers (~2 % of the "
                    "worker), snappy 4.6x smaller for about the same CPU as none; lz4 and "
                    "gzip cost far more (bench/bench_kafka_codec.py). Readers "
                    "of these topics need a client that reads the codec")

    @property
    def producer_compression(self) -> str | None:
        """``compression_type`` as aiokafka and Faust take it (``None``: uncompressed)."""
        return None if self.compression_type == "none" else self.compression_type

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
    notifications_outbox: str = "notifications.outbox"
    alerts_keyed: str = "alerts.keyed"  # rule items repartitioned by notification group
    alerts_transitions: str = "alerts.transitions"
    alerts_silences: str = "alerts.silences"  # silences and acks (compacted, by id)


class IngestSettings(_Section):
    max_record_bytes: int = Field(64 * 1024, ge=256, le=16 * 1024 * 1024)
    max_batch_records: int = Field(10_000, ge=1, le=1_000_000)
    max_json_depth: int = Field(32, ge=2, le=512)
    parse_batch_size: int = Field(
        1024, ge=1, description="most logs.raw messages the parse stage takes from its "
                                "consumer at once (getmany's max_records)")
    parse_batch_bytes: int = Field(
        2 * 1024 * 1024, ge=1024,
        description="what the parse stage takes at once is parsed, published and committed "
                    "in chunks that end once their messages' values add up to this many bytes "
                    "(a batched message holds up to gateway_batch_bytes of lines: this bounds "
                    "a chunk's memory)")
    parse_batch_wait_s: float = Field(
        0.1, gt=0, description="longest the parse stage's getmany waits when nothing has "
                               "been fetched (it returns at once with what has)")
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
        from app.plugins import failed_names, registry

        # Only patterns and source rules can name a plugin's format; without them the
        # registry is not read (the class default is built when this module is imported).
        plugins = bool(self.patterns or self.sources)
        try:
            ParserCatalog(
                [PatternDef(name, p.regex, p.timestamp_format, p.timezone,
                            tuple(p.field_map.items())) for name, p in self.patterns.items()],
                [SourceRule(s.match, s.format, s.service, s.timezone) for s in self.sources],
                self.default_timezone,
                factories=registry().load_all("parsers") if plugins else None)
        except ValueError as exc:
            failed = failed_names("parsers") if plugins else ""
            hint = f" (parser plugins that failed to load: {failed})" if failed else ""
            raise ValueError(f"{exc}{hint}") from None
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
        from app.core.enrichment.registry import builtin_enrichers, check_pipeline
        from app.plugins import failed_names, registry

        # built-in names only: no need to read the registry (a plugin cannot take them)
        plugins = not set(self.enrichers) <= set(builtin_enrichers())
        try:
            check_pipeline(self.enrichers, self.config,
                           factories=registry().load_all("enrichers") if plugins else None)
        except ValueError as exc:
            failed = failed_names("enrichers") if plugins else ""
            hint = f" (enricher plugins that failed to load: {failed})" if failed else ""
            raise ValueError(f"{exc}{hint}") from None
        return self


class ElasticsearchSettings(_Section):
    url: str = "http://127.0.0.1:9200"
    index_prefix: str = "logwarden-events"
    shards: int = Field(1, ge=1)
    replicas: int = Field(0, ge=0)
    bulk_max_messages: int = Field(64, ge=1, description="logs.events messages per bulk")
    bulk_max_wait_s: float = Field(
        0.25, gt=0,
        description="longest wait to fill a bulk (adds to ingest-to-searchable latency)")
    request_timeout_s: float = Field(30.0, gt=0)
    max_backoff_s: float = Field(30.0, gt=0)
    bulk_max_docs: int = Field(5_000, ge=1, description="documents per _bulk request")
    bulk_concurrency: int = Field(2, ge=1, le=32,
                                  description="_bulk requests in flight per worker")
    retention_days: int = Field(14, ge=1, description="daily indices kept")
    refresh_interval: str = Field(
        "500ms", pattern=r"^(-1|\d+(ms|s|m))$",
        description="index refresh interval: how soon an indexed event becomes searchable "
                    "(shorter costs Elasticsearch CPU)")

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
    batch_size: int = Field(64, ge=1, description="logs.events messages per aggregate batch")
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


#: The roles of the web UI and API, lowest first (``web.auth.Role`` ranks them).
RoleName = Literal["viewer", "operator", "admin"]
_IDENTITY_ROLES: dict[str, RoleName] = {"viewer": "viewer", "operator": "operator",
                                        "admin": "admin"}


def _random_secret() -> SecretStr:
    import secrets  # imported on use: only when no secret is configured

    return SecretStr(secrets.token_urlsafe(32))


class WebSettings(_Section):
    """Web login, sessions and roles (the OIDC client itself is ``oidc``)."""

    public_base_url: str | None = Field(
        None, description="the URL browsers use for this worker (OIDC redirect URI base); "
                          "default http://<worker.web_host>:<worker.web_port>")
    session_secret: SecretStr = Field(
        default_factory=_random_secret,
        description="key of the CSRF tokens; set it when several workers serve one UI "
                    "(default: random per process)")
    cookie_secure: bool | None = Field(
        None, description="Secure flag of the session cookie; default: on unless the base "
                          "URL is http on 127.0.0.1/localhost")
    session_ttl_s: int = Field(8 * 3600, ge=60, description="lifetime of a login session")
    roles_claim: str = Field("roles", min_length=1,
                             description="ID-token claim with the user's roles (dotted path "
                                         "for nested claims, e.g. realm_access.roles)")
    role_map: dict[str, RoleName] = Field(
        default_factory=lambda: dict(_IDENTITY_ROLES),
        description="claim value -> logwarden role")
    default_role: RoleName | None = Field(
        None, description="role of a user whose claim maps to no role (None: no access)")
    metrics_public: bool = Field(True, description="serve /metrics without authentication")

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            msg = "must start with http:// or https://"
            raise ValueError(msg)
        return value.rstrip("/") if value else value


class SmtpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(1025, ge=1, le=65535)


class NotifySettings(_Section):
    """Delivery of ``notifications.outbox`` through Apprise (the ``notify`` agent)."""

    apprise_config: Path = Field(
        Path("alert_rules/channels.yaml"),
        description="Apprise YAML config: one URL entry per channel, with tag: and lw_channel:")
    max_attempts: int = Field(5, ge=1, le=100, description="sends per channel before giving up")
    base_backoff_s: float = Field(1.0, gt=0, description="wait after the first failed send")
    max_backoff_s: float = Field(60.0, gt=0, description="longest wait between two sends")
    rate_per_minute: float = Field(30.0, gt=0, description="sends per minute per channel")
    rate_burst: int = Field(5, ge=1, description="sends a channel may take at once")
    channel_rate_per_minute: dict[str, float] = Field(
        default_factory=dict, description="per-channel overrides of rate_per_minute")
    send_timeout_s: float = Field(30.0, gt=0, description="limit of one Apprise send")
    batch_size: int = Field(50, ge=1, description="outbox messages delivered together")
    batch_wait_s: float = Field(0.2, gt=0)

    @model_validator(mode="after")
    def _backoff_order(self) -> NotifySettings:
        if self.base_backoff_s > self.max_backoff_s:
            raise ValueError("base_backoff_s must not exceed max_backoff_s")
        bad = [name for name, rate in self.channel_rate_per_minute.items() if rate <= 0]
        if bad:
            raise ValueError(f"channel_rate_per_minute must be positive (channels {bad})")
        return self


class DashboardSettings(_Section):
    """The operators' pages: overview refresh and caching, live-tail rate caps."""

    refresh_s: float = Field(10.0, ge=1, description="how often the overview refreshes itself")
    cache_ttl_s: float = Field(5.0, gt=0, le=300,
                               description="Elasticsearch aggregations cached in Redis this long")
    tail_publish_rate: float = Field(
        500.0, gt=0, description="events per second a worker publishes to the live tail "
                                 "(a sample beyond that)")
    tail_client_rate: float = Field(50.0, gt=0,
                                    description="events per second one live-tail client gets")


class AlertingSettings(_Section):
    """Alert rules (``alert_rules/``), their evaluation and the links in notifications."""

    rules_dir: Path = Field(Path("alert_rules"), description="YAML rule files (*.yaml, *.yml)")
    dashboard_base_url: str = Field("http://127.0.0.1:6066",
                                    description="base of the search links in notifications")
    grace_s: float = Field(2.0, ge=0, description="event-time clock: largest event time "
                                                  "seen minus this")
    idle_after_s: float = Field(10.0, gt=0, description="wall-clock quiet after which the "
                                                        "clock advances by itself")
    tick_interval_s: float = Field(1.0, gt=0, description="how often time-based changes "
                                                          "(resolve, group_wait) are checked")
    batch_size: int = Field(500, ge=1, description="messages per alerts batch")
    batch_wait_s: float = Field(0.2, gt=0)

    @field_validator("dashboard_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = "must start with http:// or https://"
            raise ValueError(msg)
        return value.rstrip("/")


#: The agents a worker runs by default. Every name in ``worker.agents`` is an entry point
#: of the ``logwarden.agents`` group (``pyproject.toml``, or an installed plugin).
BUILTIN_AGENTS = ("parse", "index", "aggregate", "alerts", "notify", "tail")


class WorkerSettings(_Section):
    app_id: str = "logwarden"
    store: Literal["memory://", "rocksdb://"] = "memory://"
    datadir: Path = Path(".run/worker")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    stream_buffer_maxsize: int = Field(
        64, ge=1, le=65536,
        description="Kafka messages an agent may have fetched but not processed; batched "
                    "messages carry up to ingest.event_message_bytes each, so this bounds "
                    "the worker's memory (Faust's default, 4096, allows gigabytes)")
    gc_gen0_threshold: int = Field(
        50_000, ge=700,
        description="allocations between young-generation garbage collections (Python's "
                    "default is 700; decoding batches allocates millions of short-lived objects)")
    heap_trim_interval_s: float = Field(
        5.0, ge=0,
        description="seconds between returns of the C heap's free pages to the system "
                    "(malloc_trim, ~10-20 ms; 0 = only once at start-up): folding batches "
                    "leaves freed memory mapped otherwise (bench/RESULTS.md, worker memory)")
    agents: tuple[str, ...] = Field(
        BUILTIN_AGENTS, min_length=1,
        description="agents this worker runs; e.g. index,aggregate under a new app_id "
                    "rebuilds Elasticsearch and MongoDB by replaying logs.events")

    @field_validator("agents")
    @classmethod
    def _known_agents(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from app.plugins import registry

        known = registry().names("agents")
        unknown = [name for name in value if name not in known]
        if unknown:
            msg = (f"unknown agent(s) {', '.join(unknown)}; known: {', '.join(known)} "
                   f"(entry points of the logwarden.agents group; `logwarden plugins list`)")
            raise ValueError(msg)
        return value


class PluginSettings(BaseModel):
    """``plugins.strict``, plus one section per plugin agent: ``plugins.<name>``.

    A section is validated by that plugin's own config model when the worker starts
    (``app.plugins.worker``); a section naming no registered agent is an error there.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    strict: bool = Field(False, description="refuse to start when a plugin fails to load "
                                            "(default: log it and leave the plugin out)")

    @model_validator(mode="after")
    def _sections_are_mappings(self) -> PluginSettings:
        for name, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                msg = f"plugins.{name} must be a mapping (that plugin's settings section)"
                raise ValueError(msg)
        return self

    def sections(self) -> dict[str, dict[str, Any]]:
        """The plugin sections, by plugin name."""
        return {name: dict(value) for name, value in (self.model_extra or {}).items()}


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
    web: WebSettings = WebSettings()
    smtp: SmtpSettings = SmtpSettings()
    notify: NotifySettings = NotifySettings()
    alerting: AlertingSettings = AlertingSettings()
    dashboard: DashboardSettings = DashboardSettings()
    worker: WorkerSettings = WorkerSettings()
    plugins: PluginSettings = PluginSettings()

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
