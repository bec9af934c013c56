"""The process's Prometheus metrics (cross-cutting: every layer may record). Names follow the seed.

Multi-process: with ``PROMETHEUS_MULTIPROC_DIR`` set before this module is first imported (the
server sets it for ``--workers N > 1``; see persistence/metrics_export.py), every value lives in a
file of that directory and ``/metrics`` serves the sum over all processes. Gauges say how they
combine: ``livesum`` counts the processes that are alive only.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Around the seed's latency targets (p50/p95/p99 of every operation class), so each is a bucket edge.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.08,
    0.1,
    0.12,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.8,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
    30.0,
)
# Requested cost: 1 up to the default per-operation limit of 1,000, roughly log-spaced.
COST_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# Statements per request: the seed's budget is fewer than 5.
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)

CACHE_HITS = Counter("cache_hits_total", "Cache lookups answered from Redis", ["data_type"])
CACHE_MISSES = Counter("cache_misses_total", "Cache lookups not answered from Redis", ["data_type"])
CACHE_ERRORS = Counter("cache_errors_total", "Cache operations that failed open", ["operation"])
UNTRUSTED_DOCUMENTS = Counter(
    "graphql_untrusted_documents_total",
    "Documents outside the trusted registry, run (mode log) or refused (enforce, API keys)",
    ["outcome"],
)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by route template", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency, by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)

GRAPHQL_DURATION = Histogram(
    "graphql_operation_duration_seconds",
    "GraphQL operation latency over HTTP, by the seed's operation class",
    ["operation_class", "operation"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_OPERATIONS = Counter(
    "graphql_operations_total",
    "GraphQL operations over HTTP: ok, error (errors in the answer) or refused (never executed)",
    ["operation_class", "operation", "outcome"],
)
GRAPHQL_ENGINE_OPERATIONS = Counter(
    "graphql_engine_operations_total",
    "GraphQL operations over HTTP by the engine that executed them: compiled (one statement per root "
    "field) or resolvers",
    ["engine"],
)
GRAPHQL_SHED = Counter(
    "graphql_requests_shed_total",
    "GraphQL requests over HTTP answered 503 OVERLOADED before anything ran (schema/guard/admission.py)",
    ["reason"],
)
GRAPHQL_COST = Histogram(
    "graphql_operation_cost",
    "Requested cost of admitted operations",
    ["operation_class"],
    buckets=COST_BUCKETS,
)
GRAPHQL_STATEMENTS = Histogram(
    "graphql_sql_statements",
    "SQL statements sent per GraphQL request",
    ["operation_class"],
    buckets=STATEMENT_BUCKETS,
)

DATABASE_QUERIES = Counter(
    "database_queries_total", "SQL statements sent (transaction control not counted)", ["statement"]
)
DB_POOL_CONNECTIONS = Gauge(
    "db_pool_connections",
    "The API engine's pool: connections in use, beyond the pool size (overflow) and idle",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "db_pool_capacity",
    "The API engine's pool size plus its overflow: what pool utilization is measured against",
    multiprocess_mode="livesum",
)
DB_POOL_WAIT = Histogram(
    "db_pool_wait_seconds",
    "Time to get a connection from the pool (waiting, connecting and the pre-ping included)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0),
)

DB_REPLICA_LAG = Gauge(
    "db_replica_lag_seconds",
    "How far the read replica is behind the primary, at most (persistence/replica.py); the largest "
    "any process measured",
    multiprocess_mode="livemax",
)
DB_REPLICA_IN_USE = Gauge(
    "db_replica_in_use",
    "Processes whose lag-tolerant reads go to the read replica now (1 per process; 0 while it lags "
    "or is unreachable)",
    multiprocess_mode="livesum",
)
DB_LAG_TOLERANT_READS = Counter(
    "db_lag_tolerant_reads_total",
    "Reads that tolerate lag (lists, search), by the engine that served them: replica, or primary "
    "(lagging or unreachable replica, read-your-writes)",
    ["engine"],
)

RQ_JOBS = Counter("rq_jobs_total", "Jobs finished by the worker", ["queue", "outcome"])

DATABASE_UNAVAILABLE = Counter(
    "database_unavailable_total",
    "Requests answered 503 SERVICE_UNAVAILABLE because MariaDB could not serve them",
)
WEBSOCKET_CONNECTIONS = Gauge(
    "websocket_connections", "Open GraphQL WebSocket connections", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_LISTENING = Gauge(
    "graphql_subscriptions_listening",
    "Subscriptions listening on their pub/sub channel for live events",
    multiprocess_mode="livesum",
)
WEBSOCKET_MESSAGES = Counter(
    "websocket_messages_total", "GraphQL WebSocket messages, received (in) and sent (out)", ["direction"]
)
WEBSOCKET_SLOW_CONSUMERS = Counter(
    "websocket_slow_consumers_total",
    "WebSocket connections closed because they could not keep up with their subscriptions' events",
)
SUBSCRIPTION_EXECUTIONS = Counter(
    "graphql_subscription_executions_total",
    "Executions of a subscription event's selection: one subscriber's own, or one shared by the event's "
    "subscribers with the same document and variables in the process",
    ["mode"],
)
SUBSCRIPTION_ANSWERS = Counter(
    "graphql_subscription_answers_total",
    "Subscription event answers handed to subscribers, by whether their execution was shared",
    ["mode"],
)
SUBSCRIPTION_REPLAYED = Counter(
    "graphql_subscription_replayed_total",
    "Events and notifications a subscriber was sent from the database rather than pub/sub: a resume "
    "(afterSequence, afterId), a gap filled, or what a Redis reconnect or a full queue skipped",
    ["subscription", "reason"],
)
SUBSCRIPTION_RESYNCS = Counter(
    "graphql_subscription_resyncs_total",
    "RESYNC events sent: what a subscriber missed could not be replayed (too many, or purged)",
    ["subscription", "reason"],
)
REDIS_BREAKER_OPENINGS = Counter(
    "redis_breaker_openings_total",
    "Redis outages this process noticed (its one Redis breaker opened), by the user of Redis that noticed",
    ["subject"],
)
REDIS_BREAKER_OPEN = Gauge(
    "redis_breaker_open",
    "Processes skipping Redis now (their Redis breaker open or waiting for its probe): 1 per process",
    multiprocess_mode="livesum",
)
