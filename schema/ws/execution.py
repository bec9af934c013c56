"""Strawberry's own execution, as the WebSocket transport uses it (HTTP runs graphql-core directly).

Three changes, each for a reason:
- Strawberry hands every event of a subscription the one context it built per connection. Here each
  event runs with the ``RequestContext`` its generator built for it (fresh loaders, the principal
  checked again): ``EventContextExecutor`` swaps it in per event.
- Errors reach WebSocket clients with the same ``extensions.code`` and masking as HTTP clients.
- Strawberry logs every error with a stack trace; expected ones (NOT_FOUND, UNAUTHENTICATED) are not
  failures. ``format_error`` logs the unexpected ones, as for HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.execution import Executor
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext
from strawberry.types.execution import StreamExecutionResult

from resolvers.context import RequestContext
from resolvers.subscriptions import ConnectionContext
from schema.core.errors import Phase, format_error


class EventContextExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        executor = super().build_per_event_executor(payload)
        # The payload is what the subscription yielded: a type with the event's own context.
        context = getattr(payload, "context", None)
        if isinstance(context, RequestContext):
            executor.context_value = context
        return executor


def _coded(error: GraphQLError, *, expose_internal: bool) -> GraphQLError:
    body = format_error(error, Phase.EXECUTE, expose_internal=expose_internal)
    return GraphQLError(
        body["message"],
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=body["extensions"],
    )


class CodedErrors(SchemaExtension):
    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if errors:
            connection = self.execution_context.context
            expose = isinstance(connection, ConnectionContext) and connection.services.settings.is_development
            result.errors = [_coded(error, expose_internal=expose) for error in errors]  # type: ignore[union-attr]
        yield


class StreamingSchema(strawberry.Schema):
    def __init__(
        self,
        *,
        query: type,
        mutation: type | None = None,
        subscription: type | None = None,
        types: Iterable[type] = (),
        config: StrawberryConfig | None = None,
    ) -> None:
        super().__init__(
            query=query,
            mutation=mutation,
            subscription=subscription,
            types=types,
            config=config,
            extensions=[CodedErrors],  # a factory: one instance per operation
            execution_context_class=EventContextExecutor,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Nothing: ``CodedErrors`` formats every error and ``format_error`` logs the unexpected."""
