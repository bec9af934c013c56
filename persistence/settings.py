"""Settings from the environment (prefix ``TASKQL_``), with an embedded default that needs no services."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Only usable where nothing real is protected: the embedded default and development.
_DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - refused in production

# What attachments may be by default: images a browser shows safely (no SVG: it can carry script), PDF,
# plain text and CSV, ZIP, and office documents (Microsoft and OpenDocument).
DEFAULT_UPLOAD_CONTENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKQL_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # How long a stopping server waits for open requests and WebSockets before cancelling them.
    shutdown_grace_seconds: int = 10

    # The embedded default: a SQLite file under var/ and an in-process Redis stand-in.
    database_url: str = "sqlite+aiosqlite:///var/taskql.db"
    redis_url: str = "memory://"
    # Pub/sub channels are named "<prefix>:project:<id>": deployments (or test runs) that share a
    # Redis server need prefixes of their own, since channels ignore database numbers.
    redis_channel_prefix: str = "taskql"
    seed_demo_data: bool = True

    # The seed's pool configuration (MariaDB/MySQL only; SQLite uses its own pool).
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 30.0
    db_pool_recycle: int = 3600
    db_pool_pre_ping: bool = True

    jwt_secret: str = _DEV_JWT_SECRET
    jwt_issuer: str = "taskql"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    # argon2id at OWASP's 19 MiB and 2 passes, in 2 lanes (RFC 9106 recommends lanes): the same memory
    # and passes cost an attacker the same, and the lanes run on both cores, so a login waits ~26 ms
    # instead of ~40. Hashes made with other parameters are re-made at their next login.
    argon2_time_cost: int = 2
    argon2_memory_cost_kib: int = 19456
    argon2_parallelism: int = 2

    # The cache fails open: a fraction of a second, then MariaDB answers alone.
    redis_socket_timeout: float = 0.25
    cache_breaker_cooldown_seconds: float = 5.0
    session_cache_ttl_seconds: int = 300

    max_body_bytes: int = 1_000_000
    max_query_tokens: int = 5000
    field_suggestions: bool | None = Field(default=None, description="default: on outside production")
    migrate_on_start: bool | None = Field(default=None, description="default: on in development")

    # The outbox relay's sweep: how often, and how old an unpublished event must be to be its job.
    relay_sweep_interval_seconds: float = 5.0
    relay_sweep_grace_seconds: float = 2.0
    relay_publish_delay_seconds: float = 0.0
    idempotency_ttl_seconds: int = 24 * 3600

    max_page_size: int = 100
    default_page_size: int = 20
    max_search_length: int = 200
    document_cache_size: int = 1000

    expose_statement_count: bool | None = Field(default=None, description="default: on in development")
    graphiql: bool | None = Field(default=None, description="default: on outside production")

    # The API's protection (schema/guard/protection.py, README "Limits"). Documents outside the trusted
    # registry: run (off), run and counted (log) or refused (enforce; operators excepted). API keys always run
    # trusted documents only. Default: enforce in production, off elsewhere.
    trusted_documents: Literal["off", "log", "enforce"] | None = None
    # How often each process reads documents registered by others; how long an APQ text stays in Redis.
    trusted_documents_refresh_seconds: float = Field(default=5.0, gt=0)
    apq_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # A successful query over GET may be kept by the browser this long (never by a shared cache).
    get_cache_max_age_seconds: int = Field(default=0, ge=0)
    # Introspection (`__schema`, `__type`): default on outside production; in production only operators.
    introspection: bool | None = Field(default=None, description="default: on outside production")
    # Static limits of one operation, counted through fragments (schema/guard/limits.py).
    max_query_depth: int = Field(default=12, ge=1)
    max_query_aliases: int = Field(default=30, ge=0)
    max_root_fields: int = Field(default=10, ge=1)
    max_directives: int = Field(default=20, ge=0)
    # Cost (schema/guard/cost.py): at most this per operation; each principal's bucket holds `capacity` points
    # and refills `restore_rate` per second (users by user, API keys by key, anonymous by address).
    cost_limit_per_operation: int = Field(default=1000, ge=1)
    cost_bucket_capacity: int = Field(default=5000, ge=1)
    cost_restore_rate: float = Field(default=100.0, gt=0)
    api_key_cost_bucket_capacity: int = Field(default=2000, ge=1)
    api_key_cost_restore_rate: float = Field(default=50.0, gt=0)
    anonymous_cost_bucket_capacity: int = Field(default=500, ge=1)
    anonymous_cost_restore_rate: float = Field(default=10.0, gt=0)
    # What a refused request (a limit, a document that does not parse or validate, one not allowed)
    # costs its principal: refusals cost the server CPU too, and a client sending only those runs dry.
    refused_request_cost: int = Field(default=50, ge=0)
    # Load shedding (schema/guard/admission.py), per process: GraphQL requests run at once, how many may wait
    # for one of them to finish and for how long, before a fast 503 OVERLOADED. CPU-bound work gains no
    # throughput from more at once, only latency.
    max_requests_in_flight: int = Field(default=8, ge=1)
    max_requests_waiting: int = Field(default=32, ge=0)
    admission_wait_ms: int = Field(default=200, ge=0)
    # One operation's execution may take this long (504 after); MariaDB aborts a statement after its own.
    execution_timeout_seconds: float = Field(default=10.0, gt=0)
    db_statement_timeout_seconds: float = Field(default=5.0, ge=0)
    # All request headers together (431 above it), and the browser origins allowed by CORS (JSON list or
    # comma-separated); development adds the server's own address.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Live updates over WebSockets (graphql-transport-ws and the legacy graphql-ws).
    ws_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="browser origins that may open a WebSocket (JSON list or comma-separated); "
        "development adds the server's own address",
    )
    ws_connection_init_timeout_seconds: float = Field(default=10.0, gt=0, le=10)
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    ws_max_subscriptions: int = Field(default=10, ge=1)
    # The pub/sub hub: each listener's queue (a slower one loses its backlog and gets a RESYNC), how
    # often an idle connection is pinged (three silent periods: the server is gone), the backoff's cap.
    pubsub_queue_size: int = Field(default=256, ge=2)
    pubsub_keepalive_seconds: float = Field(default=1.0, gt=0)
    pubsub_reconnect_max_seconds: float = Field(default=1.0, gt=0)

    # Attachments (`attachmentUpload`, `GET /attachments/{id}`): files live under upload_root (relative
    # paths are taken from the working directory), at most upload_max_bytes each, of these types only.
    upload_root: str = "var/uploads"
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    upload_allowed_content_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_UPLOAD_CONTENT_TYPES),
        description="media types an attachment may have (JSON list or comma-separated)",
    )

    # Background jobs (jobs/, `make worker`): the retry policies' backoff base (the first retry waits about
    # this long; tests shorten it), how long a finished job's id refuses the same job again, a job's limit.
    job_backoff_base_seconds: float = Field(default=30.0, gt=0)
    job_dedup_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    job_timeout_seconds: int = Field(default=60, ge=1)
    # The worker (`python -m jobs.worker`): how often it looks for abandoned jobs (a started job whose
    # worker died: retried while it has retries left, else failed), and how long past its timeout a
    # started job must be before it counts as abandoned (RQ's own margin is 60 s; tests shorten both).
    worker_maintenance_interval_seconds: int = Field(default=60, ge=1)
    worker_abandoned_grace_seconds: int = Field(default=60, ge=1)
    # Emails over SMTP (STARTTLS when asked; credentials only when a username is set), or "log": each
    # email is written to the log instead of sent (`make run`'s demo, where no mail server listens).
    email_transport: Literal["smtp", "log"] = "smtp"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "taskql <no-reply@taskql.invalid>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Push notifications (jobs/push.py): the gateway each device's notice is POSTed to as JSON (unset:
    # no push jobs at all), the wait for its answer, and the push retries' own backoff base (shorter
    # than email's: a push is worth something only while it is fresh, see PUSH_RETRY).
    push_gateway_url: str | None = None
    push_timeout_seconds: float = Field(default=5.0, gt=0)
    push_backoff_base_seconds: float = Field(default=5.0, gt=0)
    # Outgoing webhooks (jobs/webhooks.py): how long one POST may take, and the hosts exempt from the
    # address checks (jobs/ssrf.py refuses loopback, private, link-local and metadata addresses). Only
    # for a receiver the operator runs on such an address, such as the tests' on 127.0.0.1.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts webhooks may reach whatever their address (JSON list or comma-separated)",
    )
    # Project reports (`reportRequest`, jobs/reports.py): their files live under report_root (relative
    # paths are taken from the working directory); a failed build is retried twice after this fixed wait
    # (the seed's 300 s; tests shorten it), fixed when the job is enqueued.
    report_root: str = "var/reports"
    report_retry_delay_seconds: int = Field(default=300, ge=1)

    # Scheduled jobs (jobs/schedule.py, run beside `make worker`; cron expressions are in UTC). Off: this
    # process schedules none (`make worker` starts no cron scheduler, the embedded runner enqueues none).
    cron_enabled: bool = True
    # Due-soon emails: how often the scan runs, and how far ahead it looks (a task is due at the end of
    # its due date, UTC). Each (task, assignee, due date) is emailed once.
    due_soon_scan_interval_seconds: int = Field(default=15 * 60, ge=1)
    due_soon_window_seconds: int = Field(default=24 * 3600, ge=60)
    # The weekly digest's schedule (default Monday 08:00 UTC).
    digest_cron: str = "0 8 * * 1"
    # How many rows (tasks, users) a scan reads per statement while it enqueues email jobs.
    scan_batch_size: int = Field(default=500, ge=1)
    # Data cleanup on the low queue: when, how many rows one statement deletes, how many such batches
    # one run does per kind of row (the rest waits for the next run), and how long a soft-deleted task
    # is kept before it and everything hanging off it (comments, labels, attachment files) is purged.
    cleanup_cron: str = "30 3 * * *"
    cleanup_batch_size: int = Field(default=500, ge=1)
    cleanup_max_batches: int = Field(default=20, ge=1)
    deleted_task_retention_days: int = Field(default=30, ge=0)
    # How long an ended webhook delivery (succeeded or dead) and its attempts stay in the delivery log.
    webhook_log_retention_days: int = Field(default=30, ge=0)

    # API keys (`X-Api-Key`, resolvers/api_keys.py): how long a key's lookup (with its creator's role and
    # deactivation) is cached in Redis. Revoking a key replaces its entry at once, and a write to the
    # creator (role, deactivation) drops the creator's cached keys at once.
    api_key_cache_ttl_seconds: int = Field(default=60, ge=1)
    # Login throttling (resolvers/login_throttle.py), checked before a password is hashed: failed logins
    # are counted per email and per client address, each in a window that starts at its first failure;
    # over either limit a login is refused until that window ends. A success clears its email's count.
    login_failures_per_email: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    # Password reset requests are throttled alike, every request counted (each may send an email).
    reset_requests_per_email: int = Field(default=3, ge=1)
    reset_requests_per_address: int = Field(default=20, ge=1)
    reset_request_window_seconds: int = Field(default=3600, ge=1)

    # Live ops (`opsMetrics`, persistence/ops_publisher.py): how often each process publishes its last
    # minute of figures to Redis, and how long a snapshot lives there (a dead process drops out after it).
    ops_publish_interval_seconds: float = Field(default=1.0, gt=0)
    ops_snapshot_ttl_seconds: int = Field(default=5, ge=2)
    # Observability. `/metrics` (Prometheus text) answers without authentication: keep it on an internal
    # network or turn it off here. The slow-query monitor's thresholds are the seed's (a JSON log line
    # at warning, error or critical level). The worker serves its own job counters on
    # `worker_metrics_port` (0: not at all), bound to `worker_metrics_host`.
    metrics_enabled: bool = True
    slow_query_warning_ms: float = Field(default=100.0, ge=0)
    slow_query_error_ms: float = Field(default=500.0, ge=0)
    slow_query_critical_ms: float = Field(default=1000.0, ge=0)
    log_level: str = "INFO"
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9101, ge=0, le=65535)
    # Versioned caches (persistence/versioned_cache.py, README "Caching"). A write makes its entries
    # unreachable at once (it moves its organization's version keys after the commit); the TTLs only
    # bound memory and what a process that lost Redis mid-write could leave readable. Profiles and
    # project rows change rarely (10 min); a user's project memberships are the seed's 5 minutes;
    # task-list pages are invalidated by every task write of the organization, so a longer TTL would
    # rarely be reached (2 min). Version keys outlive every entry keyed by them.
    user_profile_cache_ttl_seconds: int = Field(default=600, ge=1)
    project_cache_ttl_seconds: int = Field(default=600, ge=1)
    permission_cache_ttl_seconds: int = Field(default=300, ge=1)
    task_list_cache_ttl_seconds: int = Field(default=120, ge=1)
    cache_version_ttl_seconds: int = Field(default=24 * 3600, ge=3600)

    @field_validator("upload_allowed_content_types", mode="before")
    @classmethod
    def _content_types_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("upload_allowed_content_types", mode="after")
    @classmethod
    def _content_types_lowercase(cls, value: list[str]) -> list[str]:
        return [item.strip().lower() for item in value]

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _hosts_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [host.strip() for host in text.split(",") if host.strip()]
        return value

    @field_validator("webhook_allowed_hosts", mode="after")
    @classmethod
    def _hosts_lowercase(cls, value: list[str]) -> list[str]:
        # Compared with a URL's host, which urllib lower-cases; an IPv6 host without its brackets.
        return [host.strip().strip("[]").lower() for host in value]

    @field_validator("ws_allowed_origins", "cors_allowed_origins", mode="before")
    @classmethod
    def _origins_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _secrets_are_set_in_production(self) -> Settings:
        if self.environment == "production" and self.jwt_secret == _DEV_JWT_SECRET:
            raise ValueError("TASKQL_JWT_SECRET must be set in production")
        if len(self.jwt_secret) < 32:
            raise ValueError("TASKQL_JWT_SECRET must be at least 32 characters")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.environment != "production"

    @property
    def statement_count_exposed(self) -> bool:
        if self.expose_statement_count is not None:
            return self.expose_statement_count
        return self.is_development

    @property
    def suggestions_enabled(self) -> bool:
        return (
            self.field_suggestions if self.field_suggestions is not None else self.environment != "production"
        )

    @property
    def migrates_on_start(self) -> bool:
        return self.migrate_on_start if self.migrate_on_start is not None else self.is_development

    @property
    def websocket_origins(self) -> list[str]:
        """The configured origins; in development also the server's own, so GraphiQL can subscribe."""
        if not self.is_development:
            return list(self.ws_allowed_origins)
        own = [f"http://{self.host}:{self.port}", f"http://localhost:{self.port}"]
        return [*self.ws_allowed_origins, *own]

    @property
    def trusted_documents_mode(self) -> Literal["off", "log", "enforce"]:
        if self.trusted_documents is not None:
            return self.trusted_documents
        return "enforce" if self.environment == "production" else "off"

    @property
    def introspection_open(self) -> bool:
        """Whether everyone may introspect; operators always may."""
        return self.introspection if self.introspection is not None else self.environment != "production"

    @property
    def cors_origins(self) -> list[str]:
        if not self.is_development:
            return list(self.cors_allowed_origins)
        return [
            *self.cors_allowed_origins,
            f"http://{self.host}:{self.port}",
            f"http://localhost:{self.port}",
        ]

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
