"""The resolver engine: graphql-core walks the selection and calls strawberry's resolvers, which call the
use cases in resolvers/ with the request's context. It runs every mutation and subscription and the
queries the compiler does not cover; a mutation's payload task is read by the compiled engine when it
covers the selection (schema/engine/payload_reads.py, handed to the payload as the root value)."""

from __future__ import annotations

from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    execute,
    execute_subscription_event,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.incremental import IncrementalExecutor
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.execution.is_awaitable import optimized_is_awaitable

from resolvers.context import RequestContext
from schema.core.payload_reads import Completed, PayloadReads
from schema.engine.operation import Operation


class _SplicingExecutor(IncrementalExecutor):
    """graphql-core's executor, but a ``Completed`` value (a payload's object the compiled engine read,
    already in the answer's shape) goes into the answer as it is."""

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        if isinstance(result, Completed):
            return result.value
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


class ResolverEngine:
    def __init__(
        self, schema: GraphQLSchema, *, hide_suggestions: bool, payload_reads: PayloadReads | None = None
    ) -> None:
        # The graphql-core schema strawberry built (its resolvers are strawberry's).
        self.schema = schema
        self.hide_suggestions = hide_suggestions
        # A mutation's payload objects read by the compiled engine (None: by their resolvers).
        self.payload_reads = payload_reads

    def execute(self, operation: Operation, context: RequestContext) -> AwaitableOrValue[ExecutionResult]:
        mutation = operation.definition.operation is OperationType.MUTATION
        return execute(
            self.schema,
            operation.document,
            root_value=self.payload_reads if mutation else None,
            context_value=context,
            variable_values=operation.variables,
            operation_name=operation.name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a TypeGuard in spirit
            hide_suggestions=self.hide_suggestions,
            executor_class=_SplicingExecutor if mutation and self.payload_reads is not None else None,
        )

    def execute_event(self, event: Executor[Any]) -> AwaitableOrValue[ExecutionResult]:
        return execute_subscription_event(event)
