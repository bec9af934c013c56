"""OpenTelemetry traces, off unless ``TASKQL_TRACING_ENABLED``: the process's tracer provider and the
instrumentation of its SQLAlchemy engines and Redis clients.

Off, nothing is installed: no provider, no listener on an engine, no wrapper on a Redis client, no
ASGI middleware (schema/app.py asks ``provider()`` once). What a request then pays is a test of a
value its object read at start-up.

On, spans go to an OTLP/HTTP exporter (protobuf) behind the SDK's batch processor, which exports from
a thread of its own. Where to is the SDK's standard environment: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, the sampler (``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``) and the
batch processor's ``OTEL_BSP_*``.

A statement or command outside any span (a background loop's: the live-ops publisher every second, the
trusted documents' refresh) is not traced: alone in a trace of its own it says nothing, and there
would be one a second. The relay's batches and sweeps have spans of their own (persistence/relay.py).

The provider is this module's, never OpenTelemetry's global one: the global can be set once per
process, and a process (the test suite) may build apps with tracing and without. Every span is made
from it, the instrumentations' included (they are handed it); the context they share is the
API's (a context variable), and the propagator W3C Trace Context's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sqlalchemy_instrumentation_version
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes
from sqlalchemy.engine import Engine

from persistence.settings import Settings

_provider: TracerProvider | None = None


class WithinTraces(Sampler):
    """``sampler``'s decision, except for a client span that would start a trace: dropped."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return SamplingResult(Decision.DROP)
        return self.sampler.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"WithinTraces{{{self.sampler.get_description()}}}"


def start_tracing(settings: Settings, service_name: str) -> TracerProvider | None:
    """The process's provider: made on the first call that finds tracing enabled; None while off.
    ``service_name``: the resource's ``service.name`` unless ``OTEL_SERVICE_NAME`` names it."""
    global _provider  # noqa: PLW0603 - one provider per process, like the SDK's own global
    if _provider is None and settings.tracing_enabled:
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        made = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        # Before any tracer is made (each takes the provider's sampler): the one OTEL_TRACES_SAMPLER
        # chose, within traces.
        made.sampler = WithinTraces(made.sampler)
        made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _provider = made
    return _provider


def use_provider(provider: TracerProvider | None) -> None:
    """Makes ``provider`` the process's (a test's in-memory exporter), or turns tracing off (None)."""
    global _provider  # noqa: PLW0603 - see start_tracing
    _provider = provider


def provider() -> TracerProvider | None:
    return _provider


def tracer(name: str) -> trace.Tracer | None:
    """A tracer of the process's provider; None while tracing is off."""
    return None if _provider is None else _provider.get_tracer(name)


_UNTRACED: AbstractContextManager[None] = nullcontext()


def loop_span(
    loop_tracer: trace.Tracer | None, name: str, links: Sequence[Link] = ()
) -> AbstractContextManager[trace.Span | None]:
    """A span over one turn of a background loop (the relay's publish, its sweep): the root of what
    that turn sends; none while tracing is off."""
    if loop_tracer is None:
        return _UNTRACED
    return loop_tracer.start_as_current_span(name, links=links)


def current_link() -> Link | None:
    """A link to the current span (what caused a background loop's turn), or None outside any."""
    context = trace.get_current_span().get_span_context()
    return Link(context) if context.is_valid else None


def stop_tracing() -> None:
    """Exports what the batch processor holds and stops it (a stopping worker or server)."""
    global _provider  # noqa: PLW0603 - see start_tracing
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def instrument_engine(engine: Engine) -> None:
    """A client span per statement the engine sends (``engine``: an async engine's ``sync_engine``),
    when tracing is on. The instrumentation's own ``instrument()`` is once per process and patches
    ``create_engine`` and ``Engine.connect`` everywhere (a span per checkout); its per-engine tracer
    is all we need, and it is handed the process's provider."""
    if _provider is None:
        return
    sql_tracer = _provider.get_tracer(
        "opentelemetry.instrumentation.sqlalchemy", sqlalchemy_instrumentation_version
    )
    # Its connection-usage counter: no meter provider of ours, so a no-op one (never the global).
    usage = NoOpMeterProvider().get_meter("taskql").create_up_down_counter("db.client.connections.usage")
    EngineTracer(sql_tracer, engine, usage)  # type: ignore[no-untyped-call]  # the package is untyped


def instrument_redis(client: Any) -> None:
    """A client span per command (and per pipeline) of ``client``, sync or asyncio, when tracing is on."""
    if _provider is not None:
        RedisInstrumentor.instrument_client(client, tracer_provider=_provider)
