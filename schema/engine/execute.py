"""The entry point: every query and mutation over HTTP and every subscription over WebSocket runs here.

``Execution.compiled_run`` is the one place a query's engine is chosen: the compiled engine
(schema/engine/compiler/) answers the queries it covers with one SQL statement per root field, the
resolvers' engine every other operation, and every subscription and its events (the compiler plans
no events yet). ``graphql_engine_operations_total{engine}`` counts which ran.

What the edges need around it is here too, so both transports answer alike:
- a query or mutation runs under the execution timeout (504 TIMEOUT past it; 503
  SERVICE_UNAVAILABLE when it was waiting on the database then);
- each subscription event runs with the ``RequestContext`` its generator built for it (fresh loaders,
  the principal checked again; see resolvers/subscriptions.py), not the connection's;
- errors reach clients with their ``extensions.code``, bugs masked outside development
  (schema/core/errors.py, which logs the unexpected ones).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Hashable
from contextlib import aclosing
from functools import partial
from inspect import isawaitable
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, GraphQLSchema, OperationType
from graphql.execution import Executor, create_source_event_stream
from graphql.pyutils import AwaitableOrValue
from strawberry.execution.is_awaitable import optimized_is_awaitable

from persistence.metrics import SUBSCRIPTION_ANSWERS, SUBSCRIPTION_EXECUTIONS
from persistence.outages import DatabaseTimedOut
from persistence.settings import Settings
from persistence.statements import is_waiting_on_database
from resolvers.context import RequestContext
from resolvers.subscriptions import ConnectionContext
from schema.core.errors import Phase, format_error
from schema.core.request import RequestError
from schema.engine.compiler.operations import RESOLVERS, CompiledRun, OperationCompiler
from schema.engine.operation import Engine, Operation
from schema.engine.payload_reads import CompiledPayloadReads
from schema.engine.resolver_engine import ResolverEngine
from schema.engine.shared_events import EventMemo, SharedAnswers
from schema.subscriptions import SHARED_FIELDS

_OWN_EXECUTIONS, _SHARED_EXECUTIONS = (
    SUBSCRIPTION_EXECUTIONS.labels("own"),
    SUBSCRIPTION_EXECUTIONS.labels("shared"),
)
_OWN_ANSWERS, _SHARED_ANSWERS = SUBSCRIPTION_ANSWERS.labels("own"), SUBSCRIPTION_ANSWERS.labels("shared")


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
        payload_reads = None if compiler is None else CompiledPayloadReads(schema, compiler.dialect)
        self.resolvers = ResolverEngine(
            schema, hide_suggestions=self.hide_suggestions, payload_reads=payload_reads
        )
        self.shared_answers = SharedAnswers(schema, SHARED_FIELDS)

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
            result = await within_deadline(result, self.timeout_seconds)
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
        return self._events(self._responses(executor, source, self.shared_answers.key(operation)))

    async def _responses(
        self, executor: Executor[Any], source: AsyncIterable[Any], share_key: Hashable | None
    ) -> AsyncGenerator[ExecutionResult, None]:
        """Each source event's result. With a ``share_key``, the subscribers of one event in this process
        that have the same key share one execution and one serialization (schema/engine/shared_events.py)."""
        build = executor.build_per_event_executor
        events = aiter(source)
        try:
            async for root in events:
                memo: EventMemo | None = getattr(root, "memo", None) if share_key is not None else None
                if memo is None:
                    _OWN_EXECUTIONS.inc()
                    _OWN_ANSWERS.inc()
                    yield await self._event(build(root))
                else:
                    _SHARED_ANSWERS.inc()
                    yield await memo.once(share_key, partial(self._serialized, build, root))
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _event(self, event: Executor[Any]) -> ExecutionResult:
        result = _run_event(self.resolvers, event)
        return await result if isawaitable(result) else result

    async def _serialized(self, build: Callable[[Any], Executor[Any]], root: Any) -> ExecutionResult:
        """The event's result with its data already JSON: every subscriber that shares it sends these
        bytes. One with errors is shared as it is (the same errors for everyone who asked the same)."""
        _SHARED_EXECUTIONS.inc()
        result = await self._event(build(root))
        if result.errors or result.data is None:
            return result
        # orjson embeds a Fragment as it is; strawberry hands `data` to orjson unchanged.
        data: Any = orjson.Fragment(orjson.dumps(result.data))
        return ExecutionResult(data, None)

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
        """The result with its errors as clients see them (a new result: a subscription event's may be
        shared by several subscribers)."""
        if not result.errors:
            return result
        coded = copy.copy(result)  # of its own class: a compiled result keeps what it knows of its cost
        coded.errors = [self._coded_error(error) for error in result.errors]
        return coded

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


async def within_deadline(result: Awaitable[ExecutionResult], limit: float) -> ExecutionResult:
    """``result`` awaited for at most ``limit`` seconds. Past it: SERVICE_UNAVAILABLE (503, as an
    outage) when the operation was waiting on the database then, since MariaDB's own statement
    timeout is shorter and a statement still in flight means it is not answering; else 504 TIMEOUT."""
    try:
        async with asyncio.timeout(limit):
            return await result
    except TimeoutError as error:
        # Cancelled mid-way: a unit of work that had not committed rolled back with it.
        if is_waiting_on_database():
            timed_out = DatabaseTimedOut(f"no answer from the database within {limit:g} s")
            return ExecutionResult(None, errors=[GraphQLError(str(timed_out), original_error=timed_out)])
        raise RequestError(504, "TIMEOUT", f"the operation ran longer than {limit:g} s") from error
