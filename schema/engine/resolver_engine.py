"""The resolver engine: graphql-core walks the selection and calls strawberry's resolvers, which call the
use cases in resolvers/ with the request's context. Every operation runs on it today."""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult, GraphQLSchema, execute, execute_subscription_event
from graphql.execution import Executor
from graphql.pyutils import AwaitableOrValue
from strawberry.execution.is_awaitable import optimized_is_awaitable

from resolvers.context import RequestContext
from schema.engine.operation import Operation


class ResolverEngine:
    def __init__(self, schema: GraphQLSchema, *, hide_suggestions: bool) -> None:
        # The graphql-core schema strawberry built (its resolvers are strawberry's).
        self.schema = schema
        self.hide_suggestions = hide_suggestions

    def execute(self, operation: Operation, context: RequestContext) -> AwaitableOrValue[ExecutionResult]:
        return execute(
            self.schema,
            operation.document,
            context_value=context,
            variable_values=operation.variables,
            operation_name=operation.name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a TypeGuard in spirit
            hide_suggestions=self.hide_suggestions,
        )

    def execute_event(self, event: Executor[Any]) -> AwaitableOrValue[ExecutionResult]:
        return execute_subscription_event(event)
