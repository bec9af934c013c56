"""Traces (persistence/tracing.py): the spans a real app makes for a request, read with the SDK's
in-memory exporter; a job's span in a real worker, in the request's trace, received over OTLP/HTTP by
a local receiver; and tracing off: nothing installed, nothing made."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from perf.shared.server_process import start_server
from persistence import tracing
from persistence.ratelimit import REFUND_DELAY_SECONDS
from persistence.tracing import WithinTraces
from resolvers.context import Services
from schema.app import create_app
from schema.core.ids import encode_id
from schema.engine.tracing import DOCUMENT_ID, ENGINE, OPERATION_NAME, OPERATION_TYPE
from schema.http.edge import Edge
from schema.http.tracing import REQUEST_ID
from tests.conftest import GraphQLClient, make_settings, running_services
from tests.jobs.waiting import until
from tests.jobs.worker_process import start_worker, stop_worker
from tests.otlp_receiver import running_receiver
from tests.schema.ops_helpers import server_environment, signed_in

SQL_SCOPE = "opentelemetry.instrumentation.sqlalchemy"
REDIS_SCOPE = "opentelemetry.instrumentation.redis"
PROJECTS = "query TracedProjects { projects(first: 3) { edges { node { id name } } } }"
COMMENT = """mutation TracedComment($t: ID!) { commentCreate(input: {taskId: $t, body: "traced"}) {
  errors { code } } }"""
EVENTS = "subscription TracedEvents($p: ID!) { taskEvents(projectId: $p) { type sequence } }"
REPORT = """mutation TracedReport($p: ID!) { reportRequest(input: {projectId: $p, kind: STATUS}) {
  errors { code } report { id status } } }"""


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, every span kept in memory as soon as it ends."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.use_provider(provider)
    try:
        yield memory
    finally:
        tracing.use_provider(None)
        provider.shutdown()


@pytest.fixture
async def traced_services(
    exporter: InMemorySpanExporter, database: str, redis_url: str
) -> AsyncIterator[Services]:
    """Services built while tracing is on: their engines and Redis client are instrumented."""
    async with running_services(make_settings()) as built:
        yield built


@pytest.fixture
async def traced_gql(traced_services: Services) -> AsyncIterator[GraphQLClient]:
    app = create_app(services=traced_services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield GraphQLClient(http)
    # The last request's budget refund goes to Redis a moment later (persistence/ratelimit.py):
    # before the services' client closes.
    await asyncio.sleep(10 * REFUND_DELAY_SECONDS)


def _with_attribute(spans: list[ReadableSpan], key: str, value: Any) -> ReadableSpan:
    [found] = [span for span in spans if span.attributes and span.attributes.get(key) == value]
    return found


def _scope(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def _trace_of(spans: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    assert root.context is not None
    return [span for span in spans if span.context and span.context.trace_id == root.context.trace_id]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


async def test_a_request_is_a_server_span_over_its_operation_its_statements_and_commands(
    make_org: Any, traced_gql: GraphQLClient, exporter: InMemorySpanExporter
) -> None:
    org = await make_org()
    user = traced_gql.as_user(await traced_gql.login(org.owner_email))
    sha256 = hashlib.sha256(PROJECTS.encode()).hexdigest()
    # An APQ registration: the document is named by its hash.
    response = await user.http.post(
        "/graphql",
        json={"query": PROJECTS, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}}},
        headers={"authorization": f"Bearer {user.token}", "x-request-id": "traced-request-1"},
    )
    body = response.json()
    assert "errors" not in body, body
    statements = body["extensions"]["sqlStatements"]
    assert statements >= 1
    spans = list(exporter.get_finished_spans())

    # Then the request is a server span carrying the request id
    server = _with_attribute(spans, REQUEST_ID, "traced-request-1")
    assert server.kind is SpanKind.SERVER
    assert server.name == "POST /graphql"
    assert server.parent is None
    # And its child is the operation, named and described, with the engine that ran it
    in_trace = _trace_of(spans, server)
    assert server.context is not None
    [operation] = [span for span in in_trace if span.name.startswith("query")]
    assert _parent_id(operation) == server.context.span_id
    assert operation.name == "query TracedProjects"
    assert operation.attributes is not None
    assert operation.attributes[OPERATION_NAME] == "TracedProjects"
    assert operation.attributes[OPERATION_TYPE] == "query"
    assert operation.attributes[DOCUMENT_ID] == sha256
    assert operation.attributes[ENGINE] == "compiled"
    # And each SQL statement the server counted is a client span under the operation
    assert operation.context is not None
    sql = [span for span in in_trace if _scope(span) == SQL_SCOPE]
    assert len(sql) == statements
    assert all(_parent_id(span) == operation.context.span_id for span in sql)
    for span in sql:
        assert span.kind is SpanKind.CLIENT
        assert span.attributes is not None
        assert span.attributes["db.system"] == "mysql"
        assert str(span.attributes["db.statement"]).startswith("SELECT")
    # And so is each Redis command
    redis = [span for span in in_trace if _scope(span) == REDIS_SCOPE]
    assert redis
    assert all(_parent_id(span) == operation.context.span_id for span in redis)
    # (the session read with the budget's charge in one script; the APQ text stored)
    assert {"EVALSHA", "SET"} <= {span.name for span in redis}
    # And a health probe is no trace
    exporter.clear()
    assert (await user.http.get("/healthz")).status_code == 200
    assert not [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]


async def traced_mutation(
    gql: GraphQLClient, exporter: InMemorySpanExporter, email: str, document: str, variables: dict[str, Any]
) -> ReadableSpan:
    """Signs ``email`` in, then runs the mutation ``document`` on a clean slate of spans: its operation
    span (named after the document's one operation), the mutation having gone through."""
    user = gql.as_user(await gql.login(email))
    exporter.clear()
    body = await user.run(document, variables)
    [(field, payload)] = body["data"].items()
    assert payload["errors"] == [], (field, body)
    name = document.split("(", 1)[0].strip()  # "mutation TracedReport"
    [operation] = [span for span in exporter.get_finished_spans() if span.name == name]
    assert operation.context is not None
    return operation


async def test_a_mutation_runs_on_the_resolvers_engine(
    make_org: Any, traced_gql: GraphQLClient, exporter: InMemorySpanExporter
) -> None:
    org = await make_org()
    operation = await traced_mutation(
        traced_gql, exporter, org.owner_email, REPORT, {"p": encode_id("Project", org.project_ids[0])}
    )
    assert operation.attributes is not None
    assert operation.attributes[ENGINE] == "resolvers"
    assert DOCUMENT_ID not in operation.attributes  # a free-form text has no id


async def test_a_job_runs_in_its_requests_trace_in_a_real_worker(
    make_org: Any,
    traced_gql: GraphQLClient,
    exporter: InMemorySpanExporter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = await make_org()
    # When a mutation enqueues a job (reportRequest: the report's job, on `low`)
    operation = await traced_mutation(
        traced_gql, exporter, org.owner_email, REPORT, {"p": encode_id("Project", org.project_ids[0])}
    )
    assert operation.context is not None
    with running_receiver() as receiver:
        # And a real worker runs it, tracing on, exporting by OTLP/HTTP to the receiver
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "taskql-worker-under-test")
        log = tmp_path / "worker.log"
        worker = start_worker(1, log, tracing_enabled="true")
        try:

            def job_spans() -> list[tuple[dict[str, str], Any]]:
                return [pair for pair in receiver.spans() if pair[1].name == "job jobs.reports.build_report"]

            trace_id = operation.context.trace_id.to_bytes(16, "big")
            await until(
                lambda: any(span.trace_id == trace_id for _, span in job_spans()), 30, "the job's span"
            )
        finally:
            stop_worker(worker, log)
        # Then the job's span is in the request's trace, a child of the span that enqueued it
        [(resource, job)] = [(resource, span) for resource, span in job_spans() if span.trace_id == trace_id]
        assert resource["service.name"] == "taskql-worker-under-test"
        assert int.from_bytes(job.parent_span_id, "big") == operation.context.span_id
        # And the job's statements are its children
        statements = [span for _, span in receiver.spans() if span.parent_span_id == job.span_id]
        assert statements
        assert all(export.path == "/v1/traces" for export in receiver.exports)


async def test_the_relay_s_publish_links_the_requests_whose_events_it_carries(
    make_org: Any, traced_gql: GraphQLClient, exporter: InMemorySpanExporter
) -> None:
    org = await make_org()
    # When a write commits an event (a comment), the relay publishes it from its own task
    operation = await traced_mutation(
        traced_gql, exporter, org.owner_email, COMMENT, {"t": encode_id("Task", org.task_ids[0])}
    )
    assert operation.context is not None

    def publishes() -> list[ReadableSpan]:
        return [span for span in exporter.get_finished_spans() if span.name == "relay publish"]

    await until(lambda: bool(publishes()), 10, "the relay's publish")
    # Then its span is a trace of its own, linked to the request's operation
    [publish] = publishes()
    assert publish.parent is None
    assert [link.context.span_id for link in publish.links] == [operation.context.span_id]
    # And the publish's statements and commands are its children (the claim, the mark, the PUBLISH)
    assert publish.context is not None
    children = [span for span in exporter.get_finished_spans() if _parent_id(span) == publish.context.span_id]
    assert {_scope(span) for span in children} == {SQL_SCOPE, REDIS_SCOPE}


async def test_a_real_server_traces_requests_and_a_subscription_s_start(
    make_org: Any, gql: GraphQLClient, tmp_path: Path
) -> None:
    org = await make_org()
    token = await gql.login(org.owner_email)
    with running_receiver() as receiver:
        # Given `python -m schema serve` with tracing on, exporting by OTLP/HTTP to the receiver
        environment = {
            **server_environment(),
            "TASKQL_TRACING_ENABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        server = await asyncio.to_thread(start_server, tmp_path / "server.log", environment)
        try:
            # When a request comes with a caller's trace context, and a subscription starts over WebSocket
            caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            async with httpx.AsyncClient(trust_env=False) as http:
                response = await http.post(
                    f"{server.base_url}/graphql",
                    json={"query": PROJECTS},
                    headers={
                        "authorization": f"Bearer {token}",
                        "x-request-id": "traced-over-http",
                        "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01",
                    },
                )
            assert response.status_code == 200, response.text
            async with signed_in(server.base_url, token) as client:
                payload = {"query": EVENTS, "variables": {"p": encode_id("Project", org.project_ids[0])}}
                await client.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))

                def named(name: str) -> list[Any]:
                    return [span for _, span in receiver.spans() if span.name == name]

                await until(lambda: bool(named("subscription TracedEvents")), 10, "the subscription's span")
            # (a WebSocket's span is named as HTTP's, with the method the ASGI instrumentation gives
            # a scope that has none)
            await until(lambda: bool(named("HTTP /graphql")), 10, "the WebSocket's span")
        finally:
            await asyncio.to_thread(server.stop)
    # Then the request's span continues the caller's trace, carries the request id, and its operation
    # span has the statements under it
    [request] = named("POST /graphql")
    assert request.trace_id.hex() == caller_trace
    attributes = {attribute.key: attribute.value.string_value for attribute in request.attributes}
    assert attributes["taskql.request_id"] == "traced-over-http"
    [operation] = named("query TracedProjects")
    assert operation.parent_span_id == request.span_id
    assert [span for _, span in receiver.spans() if span.parent_span_id == operation.span_id]
    # And the subscription's start is a child of the WebSocket connection's span
    [connection] = named("HTTP /graphql")
    [subscription] = named("subscription TracedEvents")
    assert subscription.parent_span_id == connection.span_id
    assert all(resource["service.name"] == "taskql" for resource, _ in receiver.spans())


def test_a_statement_or_command_outside_any_span_is_not_traced() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(sampler=WithinTraces(ALWAYS_ON), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("taskql.test")
    # A client span alone (a background loop's statement) is dropped
    with tracer.start_as_current_span("SELECT alone", kind=SpanKind.CLIENT):
        pass
    # Within a trace it is kept, and so is a trace's root of any other kind
    with (
        tracer.start_as_current_span("relay publish"),
        tracer.start_as_current_span("SELECT within", kind=SpanKind.CLIENT),
    ):
        pass
    assert sorted(span.name for span in memory.get_finished_spans()) == ["SELECT within", "relay publish"]
    provider.shutdown()


def test_the_otlp_exporter_posts_protobuf_to_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_receiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        provider = tracing.start_tracing(make_settings(tracing_enabled=True), "taskql-export-test")
        assert provider is not None
        assert isinstance(provider.sampler, WithinTraces)
        try:
            tracer = tracing.tracer("taskql.test")
            assert tracer is not None
            with tracer.start_as_current_span("exported-span"):
                pass
        finally:
            tracing.stop_tracing()  # flushes the batch processor
        assert tracing.provider() is None
        [export] = receiver.exports
        assert export.path == "/v1/traces"
        assert export.content_type == "application/x-protobuf"
        [(resource, span)] = receiver.spans()
        assert span.name == "exported-span"
        assert resource["service.name"] == "taskql-export-test"


def _instrumented(engine: AsyncEngine) -> bool:
    listeners = engine.sync_engine.dispatch.before_cursor_execute
    return any(isinstance(getattr(listener, "__self__", None), EngineTracer) for listener in listeners)


async def test_tracing_off_installs_nothing(services: Services, gql: GraphQLClient, make_org: Any) -> None:
    # Tracing off (the suite's services, built with it off): no provider, no instrumentation
    assert make_settings().tracing_enabled is False
    assert tracing.start_tracing(make_settings(), "taskql") is None
    assert tracing.tracer("taskql.test") is None
    assert not any(_instrumented(engine) for engine in services.db.engines)
    assert not getattr(services.cache.redis, "_is_instrumented_by_opentelemetry", False)
    # And the app has no request middleware, its view no tracer
    off_app = create_app(services=services)
    layers: list[object] = [middleware.cls for middleware in off_app.user_middleware]
    assert layers == [Edge]
    [route] = [route for route in off_app.routes if isinstance(route, Route) and route.path == "/graphql"]
    assert route.endpoint.__self__.tracer is None  # type: ignore[attr-defined]  # the view's bound method
    # And a request is answered all the same
    org = await make_org()
    body = await gql.as_user(await gql.login(org.owner_email)).run(PROJECTS)
    assert "errors" not in body, body


async def test_tracing_on_instruments_the_engines_and_the_redis_client(traced_services: Services) -> None:
    # The check of the test above can tell: on, every engine and the Redis client are instrumented
    assert tracing.provider() is not None
    assert all(_instrumented(engine) for engine in traced_services.db.engines)
    assert len(traced_services.db.engines) == 2  # the writes' and the autocommit reads'
    assert getattr(traced_services.cache.redis, "_is_instrumented_by_opentelemetry", False)
