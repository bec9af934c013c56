"""What strawberry's protocol handlers take for their schema: they run every operation through the
engine's entry point (schema/engine/execute.py), as the HTTP view does.

The handlers keep the protocols (framing, ids, acknowledgement, completion) and call only ``stream``
(graphql-transport-ws) or ``subscribe`` (graphql-ws) on their schema. An operation reaches them only
once ``WebSocketView.refusal`` let it through, so its document is in the same parse and validation
cache HTTP uses, and it is a subscription.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from graphql import ExecutionResult as GraphQLResult
from graphql import OperationType, get_operation_ast
from strawberry.types.execution import ExecutionResult, PreExecutionError

from resolvers.subscriptions import ConnectionContext
from schema.engine.execute import Execution
from schema.engine.operation import Operation
from schema.engine.tracing import describe_operation, operation_span, operation_tracer
from schema.guard.documents import DocumentCache


class HandlerSchema:
    def __init__(self, documents: DocumentCache, execution: Execution) -> None:
        self.documents = documents
        self.execution = execution
        # None while tracing is off (schema/engine/tracing.py): a subscription's start gets a span.
        self.tracer = operation_tracer()

    async def stream(
        self,
        query: str,
        *,
        variable_values: dict[str, Any] | None,
        context_value: ConnectionContext,
        root_value: None,
        operation_name: str | None,
    ) -> AsyncGenerator[ExecutionResult, None]:
        return self._results(self._operation(query, operation_name, variable_values), context_value)

    subscribe = stream

    def _operation(self, query: str, name: str | None, variables: dict[str, Any] | None) -> Operation:
        document = self.documents.get(query).document
        definition = None if document is None else get_operation_ast(document, name)
        if document is None or definition is None or definition.operation is not OperationType.SUBSCRIPTION:
            raise RuntimeError("a WebSocket operation started without passing WebSocketView.refusal")
        return Operation(document, definition, name, variables)

    async def _results(
        self, operation: Operation, connection: ConnectionContext
    ) -> AsyncGenerator[ExecutionResult, None]:
        # Strawberry's types: a refusal before the first event is an `error` message, not a `next`.
        with operation_span(self.tracer) as span:
            if span is not None:
                describe_operation(span, operation.definition, None)
            results = await self.execution.subscribe(operation, connection)
        if isinstance(results, GraphQLResult):
            yield PreExecutionError(data=None, errors=results.errors)
            return
        async with aclosing(results):
            async for result in results:
                yield ExecutionResult(data=result.data, errors=result.errors)
