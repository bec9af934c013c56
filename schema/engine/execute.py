"""The entry point: every query and mutation over HTTP and every subscription over WebSocket runs here.

``Execution.compiled_run`` is the one place a query's engine is chosen: the compiled engine
(schema/engine/compiler/) answers the queries it covers with one SQL statement per root field, the
resolvers' engine every other operation, and every subscription and its events (the compiler plans
no events yet). ``graphql_engine_operations_total{engine}`` counts which ran.

What the edges need around it is here too, so both transports answer alike:
- a query or mutation runs under the execution timeout (504 TIMEOUT past it);
- each subscription event runs with the ``RequestContext`` its generator built for it (fresh loaders,
  the principal checked again; see resolvers/subscriptions.py), not the connection's;
- errors reach clients with their ``extensions.code``, bugs masked outside development
  (schema/core/errors.py, which logs the unexpected ones).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
from functools import partial
from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult, GraphQLError, GraphQLSchema, OperationType
from graphql.execution import Executor, create_source_event_stream, map_source_to_response_event
from graphql.pyutils import AwaitableOrValue
from strawberry.execution.is_awaitable import optimized_is_awaitable

from persistence.settings import Settings
from resolvers.context import RequestContext
from resolvers.subscriptions import ConnectionContext
from schema.core.errors import Phase, format_error
from schema.core.request import RequestError
from schema.engine.compiler.operations import RESOLVERS, CompiledRun, OperationCompiler
from schema.engine.operation import Engine, Operation
from schema.engine.resolver_engine import ResolverEngine


class Execution:
    def __init__(
        self, schema: GraphQLSchema, settings: Settings, compiler: OperationCompiler | None = None
    ) -> None:
        self.schema = schema
        # None: every operation runs on the resolvers (TASKQL_EXECUTION_ENGINE=resolvers).
        self.compiler = compiler
        self.timeout_seconds = settings.execution_timeout_seconds
        self.expose_internal = settings.is_development
        # "Did you mean ...?" in a variable's error tells a stranger the schema's names.
        self.hide_suggestions = not settings.suggestions_enabled
        self.resolvers = ResolverEngine(schema, hide_suggestions=self.hide_suggestions)

    def compiled_run(self, operation: Operation, context: RequestContext) -> CompiledRun | None:
        """The compiled plan of a query the compiler covers, bound to this request's values; None: the
        resolvers run the operation."""
        if self.compiler is None or operation.definition.operation is not OperationType.QUERY:
            return None
        source = operation.document.loc.source.body if operation.document.loc else None
        if source is None:
            return None
        return self.compiler.prepare(
            context, source, operation.document, operation.definition, operation.variables
        )

    async def execute(self, operation: Operation, context: RequestContext) -> ExecutionResult:
        """A query or mutation; RequestError 504 TIMEOUT once it runs past the execution timeout."""
        compiled = self.compiled_run(operation, context)
        if compiled is not None:
            result: AwaitableOrValue[ExecutionResult] = compiled.execute()
        else:
            RESOLVERS.inc()
            result = self.resolvers.execute(operation, context)
        if isawaitable(result):
            result = await self._within_timeout(result)
        return self._coded(result)

    async def subscribe(
        self, operation: Operation, connection: ConnectionContext
    ) -> AsyncGenerator[ExecutionResult, None] | ExecutionResult:
        """A subscription's results, or the one result that refuses it (variables that did not coerce,
        a source that would not start: NOT_FOUND, FORBIDDEN). Its events come from its resolver,
        which runs with the connection's context."""
        executor = Executor.build(
            self.schema,
            operation.document,
            context_value=connection,
            raw_variable_values=operation.variables,
            operation_name=operation.name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a TypeGuard in spirit
            hide_suggestions=self.hide_suggestions,
        )
        if isinstance(executor, list):
            return self._coded(ExecutionResult(None, errors=executor))
        source: AwaitableOrValue[AsyncIterable[Any] | ExecutionResult] = create_source_event_stream(executor)
        if isawaitable(source):
            source = await source
        if isinstance(source, ExecutionResult):
            return self._coded(source)
        RESOLVERS.inc()
        run_event = partial(_run_event, self.resolvers)
        return self._events(map_source_to_response_event(executor, source, run_event))

    async def _within_timeout(self, result: Any) -> ExecutionResult:
        limit = self.timeout_seconds
        try:
            async with asyncio.timeout(limit):
                executed: ExecutionResult = await result
        except TimeoutError as error:
            # Cancelled mid-way: a unit of work that had not committed rolled back with it.
            raise RequestError(504, "TIMEOUT", f"the operation ran longer than {limit:g} s") from error
        return executed

    async def _events(
        self, results: AsyncGenerator[ExecutionResult, None]
    ) -> AsyncGenerator[ExecutionResult, None]:
        try:
            async with aclosing(results):
                async for result in results:
                    yield self._coded(result)
        except Exception as error:
            # What the source raises escapes graphql-core: NOT_FOUND once the subscriber may no longer
            # see the project, UNAUTHENTICATED once the token or its session is gone. It is the
            # subscription's last result, and the client can tell that end from silence.
            if not isinstance(error, GraphQLError):
                error = GraphQLError(str(error), original_error=error)
            yield self._coded(ExecutionResult(None, errors=[error]))

    def _coded(self, result: ExecutionResult) -> ExecutionResult:
        """The result with its errors as clients see them."""
        if result.errors:
            result.errors = [self._coded_error(error) for error in result.errors]
        return result

    def _coded_error(self, error: GraphQLError) -> GraphQLError:
        body = format_error(error, Phase.EXECUTE, expose_internal=self.expose_internal)
        return GraphQLError(
            body["message"],
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=body["extensions"],
        )


def _run_event(engine: Engine, event: Executor[Any]) -> AwaitableOrValue[ExecutionResult]:
    # An event carries the context its generator built for it; one without (opsMetrics' figures) runs
    # with the connection's.
    context = getattr(event.root_value, "context", None)
    if isinstance(context, RequestContext):
        event.context_value = context
    return engine.execute_event(event)
