"""The request's span, when tracing is on (persistence/tracing.py): OpenTelemetry's ASGI middleware,
outside the edge (schema/http/edge.py), which adds the request id to it.

One server span per HTTP request (``POST /graphql``: the method and the path) and per WebSocket
connection (its path, for as long as it is open), with the HTTP semantic conventions' attributes,
continuing the trace of an incoming ``traceparent``. The middleware's own spans around each ASGI
``receive`` and ``send`` are left out: a span per body chunk and per subscription event said nothing
the request's span does not. The health probes and ``/metrics`` get no span.
"""

from __future__ import annotations

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.middleware import Middleware

from persistence.tracing import provider

REQUEST_ID = "taskql.request_id"
# The probes and the scrapes: a trace every few seconds per process that says nothing.
_UNTRACED_PATHS = "/healthz,/readyz,/metrics"


def request_span_middleware() -> list[Middleware]:
    """The middleware to put outside the edge: none while tracing is off."""
    current = provider()
    if current is None:
        return []
    return [
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=current,
            exclude_spans=["receive", "send"],
            excluded_urls=_UNTRACED_PATHS,
        )
    ]
