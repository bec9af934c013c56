"""Settings from the environment (prefix ``TASKQL_``), with an embedded default that needs no services."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Only usable where nothing real is protected: the embedded default and development.
_DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - refused in production
# A key id travels in a token's header and a link's query, and is a `kid:secret` list's separator's
# neighbour: short, and neither `:` nor `,`.
_KEY_ID_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"

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

# A front end's dev server (Vite's http://localhost:5173, say): loopback only, plain HTTP, any port.
LOCAL_ORIGIN_PATTERN = r"http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"


class Settings(BaseSettings):
    """Every setting, read from ``TASKQL_<NAME>`` (or ``.env``). Each field's description is what
    docs/operations.md's settings table shows (``make docs`` regenerates it)."""

    model_config = SettingsConfigDict(env_prefix="TASKQL_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        default="development",
        description="production refuses the development JWT secret, enforces trusted documents, closes "
        "introspection to operators, hides GraphiQL and field suggestions and masks unexpected errors",
    )
    host: str = Field(default="127.0.0.1", description="where `python -m schema serve` listens")
    port: int = Field(default=8000, description="the port `python -m schema serve` listens on")
    shutdown_grace_seconds: int = Field(
        default=10,
        description="how long a stopping server waits for open requests and WebSockets before cancelling "
        "them",
    )

    # The embedded default: a SQLite file under var/ and an in-process Redis stand-in.
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/taskql.db",
        description="the database, e.g. `mysql+aiomysql://user:pass@db:3306/taskql`; the default is the "
        "embedded SQLite file",
    )
    redis_url: str = Field(
        default="memory://",
        description="Redis, e.g. `redis://cache:6379/0`; `memory://` is an in-process stand-in (fakeredis) "
        "that also runs the jobs in a thread",
    )
    # Channels ignore database numbers, hence a prefix of their own per deployment sharing a server.
    redis_channel_prefix: str = Field(
        default="taskql",
        description="pub/sub channels are `<prefix>:project:<id>`; deployments (or test runs) sharing a "
        "Redis server need prefixes of their own",
    )
    seed_demo_data: bool = Field(
        default=True, description="in development, seed the `demo` organization on first start"
    )

    # The pool's configuration (MariaDB only; SQLite uses its own pool), as docs/slo.md sets it.
    db_pool_size: int = Field(
        default=10,
        description="connections each process keeps open (MariaDB), half for writes and half for reads",
    )
    db_max_overflow: int = Field(
        default=20, description="connections opened beyond the pool under load (split the same way)"
    )
    db_pool_timeout: float = Field(default=30.0, description="seconds a request waits for a connection")
    db_pool_recycle: int = Field(default=3600, description="seconds after which a connection is replaced")
    db_pool_pre_ping: bool = Field(
        default=True,
        description="ping a pooled connection idle longer than `db_ping_idle_seconds` before handing it out "
        "(a dead one is replaced)",
    )
    db_ping_idle_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how long a pooled connection may sit idle and still be handed out unpinged; a "
        "connection in steady use costs no ping round trip",
    )

    # A read replica (MariaDB only): where reads that tolerate lag go (persistence/replica.py).
    database_replica_url: str | None = Field(
        default=None,
        description="a MariaDB replica of `database_url`, e.g. "
        "`mysql+aiomysql://user:pass@replica:3306/taskql`: lists, search and reports read from it while "
        "its lag is under `replica_max_lag_seconds`; "
        "refused with SQLite; unset, every read goes to the primary",
    )
    replica_max_lag_seconds: float = Field(
        default=5.0,
        gt=0,
        description="a replica further behind than this (or unreachable) is skipped: its reads go to the "
        "primary until it has caught up",
    )
    replica_lag_check_seconds: float = Field(
        default=1.0,
        gt=0,
        description="how often each process measures the replica's lag; the lag is known to within this",
    )
    replica_read_your_writes_seconds: float = Field(
        default=5.0,
        ge=0,
        description="after a write commits, its principal's (user's or API key's) lag-tolerant reads stay on "
        "the primary this long, whichever process serves them, so it sees what it wrote",
    )

    jwt_secret: str = Field(
        default=_DEV_JWT_SECRET,
        description="the current signing key: signs access tokens (HS256) and download links and derives "
        "reset and invitation tokens; at least 32 characters; the development-only default is refused in "
        "production",
    )
    jwt_signing_key_id: str = Field(
        default="k1",
        pattern=_KEY_ID_PATTERN,
        description="the current key's id, the `kid` every new token and link carries (letters, digits, "
        "`.`, `_`, `-`; at most 32)",
    )
    jwt_previous_secrets: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="keys that verify but do not sign, as `kid:secret,kid:secret` (or a JSON object): "
        "during a rotation, the next key before it signs and the previous one until its tokens and links "
        "have expired (docs/operations.md); each at least 32 characters, none the development default in "
        "production",
    )
    jwt_issuer: str = Field(default="taskql", description="the access tokens' `iss`")
    access_token_ttl_seconds: int = Field(default=15 * 60, description="how long an access token lives")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 24 * 3600, description="how long a refresh token lives"
    )
    access_token_leeway_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="an access token is still accepted this long past its expiry: a request that waited "
        "for an admission slot, or a client clock slightly behind",
    )

    # argon2id at OWASP's 19 MiB and 2 passes, in 2 lanes (RFC 9106 recommends lanes): the same memory
    # and passes cost an attacker the same, and the lanes run on both cores, so a login waits ~26 ms
    # instead of ~40.
    argon2_time_cost: int = Field(
        default=2,
        description="argon2id passes; a stored hash made with other parameters is re-made at its next login",
    )
    argon2_memory_cost_kib: int = Field(default=19456, description="argon2id memory per hash, KiB")
    argon2_parallelism: int = Field(default=2, description="argon2id lanes")
    # Hashes run in a pool of their own (persistence/passwords.py), one thread per core: more would
    # only slow each hash down. The auth admission lane has as many slots.
    password_hash_threads: int = Field(
        default=0,
        ge=0,
        description="threads that hash and verify passwords, and the auth admission lane's slots; 0: "
        "one per core",
    )

    # The cache fails open: a fraction of a second, then MariaDB answers alone. Local Redis answers in
    # well under a millisecond, so 0.25 s is a slow command's or a fork's pause with room to spare, and
    # what a frozen Redis costs the requests that meet it first (the process's breaker then opens).
    redis_socket_timeout: float = Field(
        default=0.25, description="seconds before a Redis call gives up and the cache fails open"
    )
    cache_breaker_cooldown_seconds: float = Field(
        default=5.0,
        description="after a Redis failure, how long every user of Redis in the process skips it before "
        "one call probes it",
    )
    session_cache_ttl_seconds: int = Field(default=300, description="how long a session is cached in Redis")

    max_body_bytes: int = Field(default=1_000_000, description="larger request bodies get 413")
    max_query_tokens: int = Field(
        default=5000, description="a document with more tokens is refused (`TOKEN_LIMIT_EXCEEDED`)"
    )
    field_suggestions: bool | None = Field(
        default=None, description='"Did you mean ..." in errors; unset: on outside production'
    )
    migrate_on_start: bool | None = Field(
        default=None, description="apply migrations when the server starts; unset: on in development"
    )

    relay_sweep_interval_seconds: float = Field(
        default=5.0, description="how often the outbox relay looks for unpublished events"
    )
    relay_sweep_grace_seconds: float = Field(
        default=2.0, description="how old an unpublished event must be before the sweep publishes it"
    )
    relay_publish_delay_seconds: float = Field(
        default=0.0,
        description="how long the relay waits after a commit before publishing, gathering the commits "
        "that arrive meanwhile into one batch",
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600, description="how long an Idempotency-Key's answer is kept"
    )

    max_page_size: int = Field(default=100, description="the largest `first`/`last` of a connection")
    default_page_size: int = Field(default=20, description="a connection's page without `first`/`last`")
    max_search_length: int = Field(default=200, description="the longest `searchTasks` query, in characters")
    document_cache_size: int = Field(
        default=1000, description="parsed and validated documents each process keeps"
    )

    expose_statement_count: bool | None = Field(
        default=None,
        description="add `extensions.sqlStatements` (statements the request sent) to every answer; "
        "unset: on in development",
    )
    graphiql: bool | None = Field(default=None, description="serve GraphiQL; unset: on outside production")

    # The API's protection (schema/guard/protection.py, docs/api.md). API keys always run trusted
    # documents only, whatever this mode.
    trusted_documents: Literal["off", "log", "enforce"] | None = Field(
        default=None,
        description="documents outside the trusted registry are run (`off`), run and counted (`log`) or "
        "refused, operators excepted (`enforce`); unset: `enforce` in production, `off` elsewhere",
    )
    trusted_documents_refresh_seconds: float = Field(
        default=5.0, gt=0, description="how often each process reads documents registered by others"
    )
    apq_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="how long an automatic persisted query's text stays in Redis",
    )
    get_cache_max_age_seconds: int = Field(
        default=0,
        ge=0,
        description="a successful query over GET may be kept by the browser this long (never by a shared "
        "cache)",
    )
    introspection: bool | None = Field(
        default=None,
        description="whether everyone may introspect (`__schema`, `__type`); operators always may; "
        "unset: on outside production",
    )
    # Static limits of one operation, counted through fragments (schema/guard/limits.py).
    max_query_depth: int = Field(
        default=12, ge=1, description="deepest selection (introspection may nest 20): `DEPTH_LIMIT_EXCEEDED`"
    )
    max_query_aliases: int = Field(
        default=30, ge=0, description="aliases per operation: `ALIAS_LIMIT_EXCEEDED`"
    )
    max_root_fields: int = Field(
        default=10, ge=1, description="root fields per operation: `ROOT_FIELD_LIMIT_EXCEEDED`"
    )
    max_directives: int = Field(
        default=20, ge=0, description="directives per operation: `DIRECTIVE_LIMIT_EXCEEDED`"
    )
    # Cost (schema/guard/cost.py): users are charged by user, API keys by key, anonymous callers by address.
    cost_limit_per_operation: int = Field(
        default=1000, ge=1, description="the highest price one operation may have: `COST_LIMIT_EXCEEDED`"
    )
    cost_bucket_capacity: int = Field(default=5000, ge=1, description="a user's cost bucket, in points")
    cost_restore_rate: float = Field(
        default=100.0, gt=0, description="points a user's bucket refills per second"
    )
    api_key_cost_bucket_capacity: int = Field(default=2000, ge=1, description="an API key's cost bucket")
    api_key_cost_restore_rate: float = Field(
        default=50.0, gt=0, description="points an API key's bucket refills per second"
    )
    anonymous_cost_bucket_capacity: int = Field(
        default=500, ge=1, description="the cost bucket of a client address without credentials"
    )
    anonymous_cost_restore_rate: float = Field(
        default=10.0, gt=0, description="points an anonymous address's bucket refills per second"
    )
    # Refusals cost the server CPU too, and a client sending only those then runs dry.
    refused_request_cost: int = Field(
        default=50,
        ge=0,
        description="what a refused request (a limit, a document that does not parse or validate, one not "
        "allowed) costs its principal",
    )
    # Load shedding (schema/guard/admission.py), per process. CPU-bound work gains no throughput from
    # more at once, only latency.
    max_requests_in_flight: int = Field(
        default=8, ge=1, description="GraphQL requests over HTTP each process runs at once"
    )
    max_requests_waiting: int = Field(
        default=32, ge=0, description="requests that may wait for a slot; more get 503 `OVERLOADED` at once"
    )
    # Logins and token refreshes queue in a lane of their own (schema/guard/lanes.py), with as many
    # slots as password hashing threads: a busy read/write queue neither delays nor sheds them.
    max_auth_requests_waiting: int = Field(
        default=16,
        ge=0,
        description="auth operations (logins, token refreshes) that may wait for one of the auth lane's "
        "slots; more get 503 `OVERLOADED` at once",
    )
    admission_wait_ms: int = Field(
        default=200, ge=0, description="how long a request waits for a slot before 503 `OVERLOADED`"
    )
    auth_admission_wait_ms: int = Field(
        default=500,
        ge=0,
        description="how long a login or token refresh waits for an auth lane slot before 503 "
        "`OVERLOADED`: longer than other requests, since a client that cannot sign in can do nothing",
    )
    execution_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="one operation's execution may take this long: 504 `TIMEOUT` after, or 503 "
        "`SERVICE_UNAVAILABLE` when it is waiting on the database then",
    )
    execution_engine: Literal["compiled", "resolvers"] = Field(
        default="compiled",
        description=(
            "`compiled` answers the queries it covers with one SQL statement per root field "
            "(schema/engine/compiler); `resolvers` runs every operation through the resolvers"
        ),
    )
    db_statement_timeout_seconds: float = Field(
        default=5.0, ge=0, description="MariaDB aborts a statement after this (`max_statement_time`)"
    )
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="all request headers together; 431 above it"
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="browser origins allowed by CORS (JSON list or comma-separated); development adds the "
        "server's own address",
    )
    local_origins: bool | None = Field(
        default=None,
        description="also allow every `http://localhost:<port>` and `http://127.0.0.1:<port>` origin (a "
        "front end's dev server) for CORS and WebSockets; unset: on in development; refused in production",
    )

    # Live updates over WebSockets (graphql-transport-ws and the legacy graphql-ws).
    ws_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="browser origins that may open a WebSocket (JSON list or comma-separated); "
        "development adds the server's own address",
    )
    ws_connection_init_timeout_seconds: float = Field(
        default=10.0, gt=0, le=10, description="how long a socket may take to send `connection_init`"
    )
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024, description="the largest WebSocket message")
    ws_max_subscriptions: int = Field(default=10, ge=1, description="subscriptions per connection")
    ws_send_queue_frames: int = Field(
        default=256,
        ge=1,
        description="frames waiting to be sent on one connection; one more closes it (1013: slow consumer)",
    )
    ws_send_lag_seconds: float = Field(
        default=5.0,
        gt=0,
        description="how long a frame may wait to be sent before the connection is closed (slow consumer)",
    )
    pubsub_queue_size: int = Field(
        default=256,
        ge=2,
        description="events a subscription's queue holds; a full one drops its backlog, which is read "
        "again from the events table",
    )
    pubsub_keepalive_seconds: float = Field(
        default=1.0,
        gt=0,
        description="how often an idle pub/sub connection is pinged (three silent periods: Redis is gone)",
    )
    pubsub_reconnect_max_seconds: float = Field(
        default=1.0, gt=0, description="the cap of the pub/sub reconnection backoff"
    )

    # Links a browser follows: signed downloads (resolvers/signed_links.py) and the links in emails.
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the public origin browsers use (the web app, the API under it): signed download "
        "links and every email's links (`/reset-password?token=`, `/invitations/accept?token=`, "
        "`/tasks/<id>`) start with it",
    )
    signed_url_ttl_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="how long a signed download link (`signedDownloadUrl`, `signedCsvUrl`, "
        "`signedHtmlUrl`) works; it is signed with a key derived from the JWT secret",
    )

    # Attachments (`attachmentUpload`, `GET /attachments/{id}`).
    upload_root: str = Field(
        default="var/uploads",
        description="where attachment files live (relative to the working directory); staging in its "
        "`.staging/`",
    )
    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="the largest attachment; a larger one gets `TOO_LARGE`"
    )
    upload_allowed_content_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_UPLOAD_CONTENT_TYPES),
        description="media types an attachment may have (JSON list or comma-separated)",
    )

    # Background jobs (jobs/, `make worker`).
    job_backoff_base_seconds: float = Field(
        default=30.0,
        gt=0,
        description="the retry policies' backoff base: the first retry waits about this long",
    )
    job_dedup_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="how long a finished or failed job's id refuses the same job",
    )
    job_timeout_seconds: int = Field(default=60, ge=1, description="a job's time limit")
    # RQ's own margin for abandoned jobs is 60 s; the tests shorten both.
    worker_maintenance_interval_seconds: int = Field(
        default=60, ge=1, description="how often a worker looks for abandoned jobs (a dead worker's)"
    )
    worker_abandoned_grace_seconds: int = Field(
        default=60, ge=1, description="how long past its timeout a started job counts as abandoned"
    )
    email_transport: Literal["smtp", "log"] = Field(
        default="smtp",
        description="`log` writes each email (Message-ID, recipient, subject) to the log instead of "
        "sending it; `make run` uses it unless set",
    )
    smtp_host: str = Field(default="127.0.0.1", description="the SMTP server")
    smtp_port: int = Field(default=25, description="the SMTP server's port")
    smtp_starttls: bool = Field(default=False, description="STARTTLS before sending")
    smtp_username: str | None = Field(default=None, description="log in to the SMTP server when set")
    smtp_password: SecretStr | None = Field(default=None, description="the SMTP password")
    smtp_from: str = Field(
        default="taskql <no-reply@taskql.invalid>",
        description="the sender; its domain ends every email's Message-ID",
    )
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, description="per SMTP command")
    # A push is worth something only while it is fresh, hence a shorter base than email's (PUSH_RETRY).
    push_gateway_url: str | None = Field(
        default=None, description="where each device's push is POSTed as JSON; unset: no push jobs at all"
    )
    push_timeout_seconds: float = Field(default=5.0, gt=0, description="per POST to the push gateway")
    push_backoff_base_seconds: float = Field(default=5.0, gt=0, description="the push retries' backoff base")
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, description="per phase of a webhook POST (connect, send, each read)"
    )
    # jobs/ssrf.py refuses loopback, private, link-local and metadata addresses; this exempts a receiver
    # the operator runs on such an address, such as the tests' on 127.0.0.1.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts webhooks may reach whatever their address (JSON list or comma-separated)",
    )
    report_root: str = Field(
        default="var/reports",
        description="where report files live (relative to the working directory); the server and the "
        "workers need the same directory",
    )
    report_retry_delay_seconds: int = Field(
        default=300, ge=1, description="the fixed wait before each of a failed report's 2 retries"
    )

    # Scheduled jobs (jobs/schedule.py, run beside `make worker`; cron expressions are in UTC).
    cron_enabled: bool = Field(
        default=True,
        description="schedule the periodic jobs in this process (off: `make worker` starts no cron "
        "scheduler, the embedded runner enqueues none)",
    )
    due_soon_scan_interval_seconds: int = Field(
        default=15 * 60, ge=1, description="how often the due-soon scan runs"
    )
    due_soon_window_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description="how far ahead the due-soon scan looks (a task is due at the end of its due date, UTC)",
    )
    digest_cron: str = Field(default="0 8 * * 1", description="when the weekly digest runs (cron, UTC)")
    scan_batch_size: int = Field(
        default=500, ge=1, description="rows (tasks, users) a scan reads per statement"
    )
    cleanup_cron: str = Field(default="30 3 * * *", description="when the cleanup runs (cron, UTC)")
    cleanup_batch_size: int = Field(default=500, ge=1, description="rows one cleanup statement deletes")
    cleanup_max_batches: int = Field(
        default=20, ge=1, description="cleanup batches per kind of row and run (the rest waits for the next)"
    )
    deleted_task_retention_days: int = Field(
        default=30, ge=0, description="how long a soft-deleted task is kept before the cleanup purges it"
    )
    webhook_log_retention_days: int = Field(
        default=30,
        ge=0,
        description="how long an ended webhook delivery (succeeded or dead) and its attempts stay in the log",
    )

    # Revoking a key replaces its entry at once, and a write to its creator drops their cached keys.
    api_key_cache_ttl_seconds: int = Field(
        default=60, ge=1, description="how long an API key's lookup (with its creator's role) is cached"
    )
    # Login throttling (resolvers/login_throttle.py), checked before a password is hashed; each window
    # starts at its first failure, and a success clears its email's count.
    login_failures_per_email: int = Field(
        default=5, ge=1, description="failed logins for one email before logins are refused for the window"
    )
    login_failures_per_address: int = Field(
        default=50,
        ge=1,
        description="failed logins from one client address before it is refused for the window",
    )
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1, description="the failed-login window")
    reset_requests_per_email: int = Field(
        default=3, ge=1, description="password reset requests per email and window"
    )
    reset_requests_per_address: int = Field(
        default=20, ge=1, description="password reset requests per client address and window"
    )
    reset_request_window_seconds: int = Field(default=3600, ge=1, description="the reset-request window")

    # Live ops (`opsMetrics`, persistence/ops_publisher.py).
    ops_publish_interval_seconds: float = Field(
        default=1.0, gt=0, description="how often each process publishes its last minute of figures to Redis"
    )
    ops_snapshot_ttl_seconds: int = Field(
        default=5, ge=2, description="how long a process's snapshot lives in Redis (a dead process drops out)"
    )
    metrics_enabled: bool = Field(
        default=True,
        description="serve `/metrics` (Prometheus text, without authentication: keep it on an internal "
        "network)",
    )
    tracing_enabled: bool = Field(
        default=False,
        description="OpenTelemetry spans (the request, the GraphQL operation, each SQL statement and Redis "
        "command, jobs) exported by OTLP/HTTP; where to, the service's name and the sampler are the SDK's "
        "standard `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` (persistence/"
        "tracing.py)",
    )
    slow_query_warning_ms: float = Field(
        default=100.0, ge=0, description="a statement slower than this logs a warning"
    )
    slow_query_error_ms: float = Field(
        default=500.0, ge=0, description="a statement slower than this logs an error"
    )
    slow_query_critical_ms: float = Field(
        default=1000.0, ge=0, description="a statement slower than this logs a critical line"
    )
    log_level: str = Field(default="INFO", description="the server's log level")
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="log lines as JSON objects or as readable text, for the server, the worker and cron; "
        "unset: `text` in development, `json` elsewhere",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="where the job worker serves `/metrics`"
    )
    worker_metrics_port: int = Field(
        default=9101, ge=0, le=65535, description="the job worker's `/metrics` port (0: not served)"
    )
    # Versioned caches (persistence/versioned_cache.py). A write makes its entries unreachable at once (it
    # moves its organization's version keys after the commit); the TTLs only bound memory and what a
    # process that lost Redis mid-write could leave readable. Task-list pages are invalidated by every
    # task write of the organization, so a longer TTL would rarely be reached.
    user_profile_cache_ttl_seconds: int = Field(
        default=600, ge=1, description="how long a user profile is cached"
    )
    project_cache_ttl_seconds: int = Field(default=600, ge=1, description="how long a project row is cached")
    permission_cache_ttl_seconds: int = Field(
        default=300, ge=1, description="how long a user's roles in their projects are cached"
    )
    task_list_cache_ttl_seconds: int = Field(
        default=120, ge=1, description="how long a task-list page is cached"
    )
    task_list_cache_enabled: bool = Field(
        default=True,
        description="cache task-list pages in Redis; off, every list is read from the database and "
        "nothing is cached (`make bench` measures the GraphQL layer so)",
    )
    cache_version_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=3600,
        description="how long the caches' version keys live (longer than every entry keyed by them)",
    )

    @field_validator(
        "upload_allowed_content_types",
        "webhook_allowed_hosts",
        "ws_allowed_origins",
        "cors_allowed_origins",
        mode="before",
    )
    @classmethod
    def _list_from_text(cls, value: object) -> object:
        """A list setting from the environment: a JSON array, or items separated by commas."""
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

    @field_validator("webhook_allowed_hosts", mode="after")
    @classmethod
    def _hosts_lowercase(cls, value: list[str]) -> list[str]:
        # Compared with a URL's host, which urllib lower-cases; an IPv6 host without its brackets.
        return [host.strip().strip("[]").lower() for host in value]

    @field_validator("jwt_previous_secrets", mode="before")
    @classmethod
    def _previous_secrets_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return json.loads(text)
            pairs = [item.strip() for item in text.split(",") if item.strip()]
            if any(":" not in pair for pair in pairs):
                raise ValueError("TASKQL_JWT_PREVIOUS_SECRETS is `kid:secret,kid:secret`")
            return dict(pair.split(":", 1) for pair in pairs)
        return value

    @field_validator("jwt_previous_secrets", mode="after")
    @classmethod
    def _previous_key_ids_are_well_formed(cls, value: dict[str, str]) -> dict[str, str]:
        for key_id in value:
            if not re.fullmatch(_KEY_ID_PATTERN, key_id):
                raise ValueError(f"TASKQL_JWT_PREVIOUS_SECRETS: key id {key_id!r} is not a valid key id")
        return value

    @field_validator("public_base_url", mode="after")
    @classmethod
    def _base_url_is_absolute(cls, value: str) -> str:
        # Every link is this plus a path: an email is read far from the server, so relative is useless.
        if not value.startswith(("http://", "https://")):
            raise ValueError("TASKQL_PUBLIC_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _secrets_are_set_in_production(self) -> Settings:
        if self.environment == "production" and self.jwt_secret == _DEV_JWT_SECRET:
            raise ValueError("TASKQL_JWT_SECRET must be set in production")
        if len(self.jwt_secret) < 32:
            raise ValueError("TASKQL_JWT_SECRET must be at least 32 characters")
        for key_id, secret in self.jwt_previous_secrets.items():
            if self.environment == "production" and secret == _DEV_JWT_SECRET:
                raise ValueError(f"TASKQL_JWT_PREVIOUS_SECRETS: {key_id} is the development secret")
            if len(secret) < 32:
                raise ValueError(f"TASKQL_JWT_PREVIOUS_SECRETS: {key_id}'s secret is under 32 characters")
        if self.jwt_signing_key_id in self.jwt_previous_secrets:
            # One id, two keys: a token's kid would not say which one signed it.
            raise ValueError("TASKQL_JWT_PREVIOUS_SECRETS must not name TASKQL_JWT_SIGNING_KEY_ID")
        if self.environment == "production" and self.local_origins:
            # Any local page (a browser extension's, another app's dev server) would be trusted.
            raise ValueError("TASKQL_LOCAL_ORIGINS is for development: list production's origins")
        if self.database_replica_url is not None:
            if not self.database_url.startswith("mysql") or not self.database_replica_url.startswith("mysql"):
                raise ValueError(
                    "TASKQL_DATABASE_REPLICA_URL needs MariaDB for both it and TASKQL_DATABASE_URL"
                )
            if self.replica_max_lag_seconds <= self.replica_lag_check_seconds:
                # The lag is measured to within one check: a smaller bound would never be met.
                raise ValueError(
                    "TASKQL_REPLICA_MAX_LAG_SECONDS must exceed TASKQL_REPLICA_LAG_CHECK_SECONDS"
                )
        return self

    @property
    def jwt_verification_keys(self) -> dict[str, str]:
        """Every key a token or link may be signed with, by id: the current one first, then the previous."""
        return {self.jwt_signing_key_id: self.jwt_secret, **self.jwt_previous_secrets}

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
    def local_origin_pattern(self) -> str | None:
        """The pattern of the local dev-server origins allowed beside the listed ones, or None."""
        allowed = self.local_origins if self.local_origins is not None else self.is_development
        return LOCAL_ORIGIN_PATTERN if allowed else None

    @property
    def resolved_log_format(self) -> Literal["json", "text"]:
        if self.log_format is not None:
            return self.log_format
        return "text" if self.is_development else "json"

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
