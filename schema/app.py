"""The Starlette application factory: services built at start-up, routes, health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from jobs.embedded import EmbeddedJobs
from jobs.enqueue import (
    NotificationEmails,
    NotificationPushes,
    ReportJobs,
    ScheduledEmails,
    WebhookDeliveries,
)
from jobs.queues import is_embedded
from persistence.attempts import AttemptCounters
from persistence.cache import Cache
from persistence.db import Database, create_engine, create_replica, split_pool
from persistence.metrics_export import mark_this_process_dead
from persistence.migrate import upgrade_to_head
from persistence.ops_publisher import process_publisher
from persistence.passwords import Passwords
from persistence.pool_metrics import install_pool_metrics
from persistence.pubsub import PubSubHub
from persistence.redis import create_redis
from persistence.redis_breaker import RedisBreaker
from persistence.relay import OnCommitted, Relay
from persistence.replica import WrittenMarks
from persistence.seed import DEMO_SIZES, seed_demo_if_empty
from persistence.settings import Settings, get_settings
from persistence.tracing import start_tracing, stop_tracing
from resolvers.context import Services
from resolvers.notification_rules import NotificationDerivation
from resolvers.trusted_documents import TrustedDocuments
from resolvers.webhook_rules import WebhookDerivation
from schema.build import build_schema
from schema.engine.compiler.coverage import judge_engine
from schema.guard.documents import DocumentCache
from schema.guard.protection import query_limits
from schema.http.downloads import AttachmentDownloads
from schema.http.edge import Edge
from schema.http.graphiql_page import graphiql_routes
from schema.http.health import Health
from schema.http.metrics_endpoint import MetricsEndpoint
from schema.http.ops_page import ops_page_routes
from schema.http.report_downloads import ReportDownloads
from schema.http.tracing import request_span_middleware
from schema.http.view import GraphQLView
from schema.ws.endpoint import WebSocketView

log = logging.getLogger("taskql")


def build_services(settings: Settings) -> Services:
    # Before the engines and the Redis client: they are instrumented when they are made.
    start_tracing(settings, "taskql")
    if settings.uses_sqlite:
        db = Database(create_engine(settings, statement_timeout=True))
    else:
        # Reads get autocommit connections of their own (no ROLLBACK per read), in half the pool.
        write_pool, read_pool = split_pool(settings)
        reads = create_engine(settings, statement_timeout=True, autocommit=True, pool=read_pool)
        db = Database(
            create_engine(settings, statement_timeout=True, pool=write_pool),
            reads,
            create_replica(settings, reads, read_pool),
        )
    for engine in db.engines:
        install_pool_metrics(engine)
    redis = create_redis(settings)
    # One for the process: whichever user of Redis meets an outage first, every other skips Redis too.
    breaker = RedisBreaker(settings.cache_breaker_cooldown_seconds)
    cache = Cache(redis, breaker.view("cache"), version_ttl_seconds=settings.cache_version_ttl_seconds)
    # Email, push and webhook jobs: run by `make worker`, or in the embedded default by a thread of
    # the server. Push only with a gateway to push to.
    enqueues = breaker.view("job enqueue")
    webhook_deliveries = WebhookDeliveries(settings, breaker=enqueues)
    hooks: list[OnCommitted] = [NotificationEmails(settings, breaker=enqueues), webhook_deliveries]
    if settings.push_gateway_url:
        hooks.append(NotificationPushes(settings, breaker=enqueues))
    relay = Relay(
        db,
        redis,
        breaker.view("relay"),
        sweep_interval_seconds=settings.relay_sweep_interval_seconds,
        sweep_grace_seconds=settings.relay_sweep_grace_seconds,
        channel_prefix=settings.redis_channel_prefix,
        derive_notifications=NotificationDerivation(),
        derive_webhook_deliveries=WebhookDerivation(),
        publish_delay_seconds=settings.relay_publish_delay_seconds,
        on_committed=hooks,
    )
    return Services(
        settings=settings,
        db=db,
        cache=cache,
        passwords=Passwords(settings),
        relay=relay,
        emails=ScheduledEmails(settings, breaker=enqueues),
        webhook_deliveries=webhook_deliveries,
        report_jobs=ReportJobs(settings, breaker=enqueues),
        operation_engine=judge_engine,
        attempts=AttemptCounters(redis, breaker.view("login throttling")),
        redis_breaker=breaker,
        written_marks=WrittenMarks(cache, settings.replica_read_your_writes_seconds) if db.replica else None,
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    """The application; tests pass their own ``services`` to share one engine and cache with it."""
    settings = settings or (services.settings if services else get_settings())
    owns_services = services is None
    services = services or build_services(settings)
    # The graphql-core schema strawberry built: the engine runs it (schema/engine/).
    graphql_schema = build_schema()._schema
    documents = DocumentCache(
        graphql_schema,
        max_entries=settings.document_cache_size,
        max_tokens=settings.max_query_tokens,
        limits=query_limits(settings),
        hide_suggestions=not settings.suggestions_enabled,
    )
    trusted = TrustedDocuments(services.db)
    view = GraphQLView.for_schema(services, documents, trusted)
    # One Redis pub/sub connection for this process; what it notices of Redis, every user hears.
    hub = PubSubHub.from_settings(settings, services.redis_breaker.view("pub/sub"))
    # One entry point for both edges: HTTP and WebSocket operations run through the view's.
    websocket_view = WebSocketView(services, hub, documents, view.execution)
    embedded_jobs = EmbeddedJobs(settings) if is_embedded(settings) else None
    report_downloads = ReportDownloads(services)
    health = Health(services)
    ops = process_publisher(services.cache.redis, settings, services.db.engines)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.migrates_on_start:
            await upgrade_to_head(services.db.engine)
        if settings.seed_demo_data and settings.is_development:
            await seed_demo_if_empty(services.db, services.passwords, DEMO_SIZES)
        await services.relay.start()
        if services.db.replica is not None:
            services.db.replica.lag.start()
        await hub.start()
        await trusted.refresh()
        refresher = asyncio.create_task(trusted.run(settings.trusted_documents_refresh_seconds))
        if embedded_jobs is not None:
            embedded_jobs.start()
        ops.start()
        yield
        await ops.stop()
        refresher.cancel()
        if embedded_jobs is not None:
            await asyncio.to_thread(embedded_jobs.stop)
        await hub.stop()
        await services.emails.drain()
        await services.relay.stop()
        if services.db.replica is not None:
            await services.db.replica.lag.stop()
        if owns_services:
            services.passwords.close()
            await services.cache.redis.aclose()
            await services.db.dispose()
            # The spans still queued go out: uvicorn ends on the signal it stopped for, past atexit.
            stop_tracing()
        mark_this_process_dead()

    app = Starlette(
        routes=[
            Route("/graphql", view.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", websocket_view),
            Route("/attachments/{id}", AttachmentDownloads(services).handle, methods=["GET"]),
            Route("/reports/{id}.csv", report_downloads.csv, methods=["GET"]),
            Route("/reports/{id}.html", report_downloads.html, methods=["GET"]),
            Route("/healthz", health.healthz),
            Route("/readyz", health.readyz),
            *ops_page_routes(),
            *(graphiql_routes() if settings.graphiql_enabled else []),
            *([Route("/metrics", MetricsEndpoint(settings).handle)] if settings.metrics_enabled else []),
        ],
        lifespan=lifespan,
        middleware=[*request_span_middleware(), Middleware(Edge, settings=settings)],
    )
    app.state.services = services
    return app
