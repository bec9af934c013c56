"""The GraphQL operation's span, when tracing is on (persistence/tracing.py).

Over HTTP it covers the operation's whole way through the view (the principal, the document, the
guard, execution, the refund), so every SQL statement and Redis command the request sends is its
child, and the statements under it are the ones ``extensions.sqlStatements`` counts. It is named
``graphql`` until the operation is known, then ``<type> <name>`` (``query ProjectTasks``), with
OpenTelemetry's ``graphql.operation.type`` and ``graphql.operation.name``, and ours: the document's
id (a trusted document's, or an APQ hash) and the engine that ran it (``compiled`` or ``resolvers``).
Over WebSocket a subscription's start (its source's checks) gets one, not each event.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from graphql import OperationDefinitionNode
from opentelemetry.trace import Span, SpanKind, Tracer

from persistence.tracing import tracer

OPERATION_TYPE = "graphql.operation.type"
OPERATION_NAME = "graphql.operation.name"
DOCUMENT_ID = "taskql.graphql.document_id"
ENGINE = "taskql.graphql.engine"

_UNTRACED: AbstractContextManager[None] = nullcontext()


def operation_tracer() -> Tracer | None:
    """The tracer of the operation spans; None while tracing is off (asked once, at start-up)."""
    return tracer("taskql.graphql")


def operation_span(operation_tracer: Tracer | None) -> AbstractContextManager[Span | None]:
    """The current span for the block: a new operation span, or none while tracing is off."""
    if operation_tracer is None:
        return _UNTRACED
    return operation_tracer.start_as_current_span("graphql", kind=SpanKind.INTERNAL)


def describe_operation(span: Span, definition: OperationDefinitionNode, document_id: str | None) -> None:
    kind = definition.operation.value
    name = definition.name.value if definition.name is not None else None
    span.update_name(kind if name is None else f"{kind} {name}")
    span.set_attribute(OPERATION_TYPE, kind)
    if name is not None:
        span.set_attribute(OPERATION_NAME, name)
    if document_id is not None:
        span.set_attribute(DOCUMENT_ID, document_id)
