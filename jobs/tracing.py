"""Jobs in traces, when tracing is on (persistence/tracing.py): the trace context travels from the
enqueue to the run in the job's ``meta``, and the worker runs each job inside a span that continues it.

The enqueue writes the current context as W3C Trace Context headers (``traceparent``, ``tracestate``)
under ``meta["trace_context"]``: the request's span for what a mutation enqueues (a report, a password
reset's email), the job's own span for what a job enqueues (the digests' emails), the relay's publish
for the emails, pushes and webhook deliveries of its batch (a trace of its own, linked to the requests
whose events it carries: persistence/relay.py). The worker's span (``job <function>``, a consumer span
with the job's id and queue) is the parent of what the job sends to the database.

Off, nothing is written in the meta and the worker makes no span.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from rq.job import Job

from persistence.tracing import provider, tracer

TRACE_CONTEXT = "trace_context"
_W3C = TraceContextTextMapPropagator()
_UNTRACED: AbstractContextManager[None] = nullcontext()


def traced_meta() -> dict[str, Any] | None:
    """A job's ``meta`` carrying the current trace context; None while tracing is off or no span is
    current (then the job starts a trace of its own)."""
    if provider() is None:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return {TRACE_CONTEXT: carrier} if carrier else None


def job_span(job: Job) -> AbstractContextManager[Span | None]:
    """The job's span, a child of the context its enqueue carried; none while tracing is off."""
    jobs_tracer = tracer("taskql.jobs")
    if jobs_tracer is None:
        return _UNTRACED
    carried = job.meta.get(TRACE_CONTEXT)
    parent = _W3C.extract(carried) if isinstance(carried, dict) else None
    return jobs_tracer.start_as_current_span(
        f"job {job.func_name}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "rq",
            "messaging.operation.type": "process",
            "messaging.destination.name": job.origin,
            "messaging.message.id": job.id,
        },
    )
