"""What the entry point runs (a validated operation) and what runs it (an engine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode
from graphql.execution import Executor
from graphql.pyutils import AwaitableOrValue

from resolvers.context import RequestContext


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation the guard let through. The document is the cached parse (schema/guard/documents.py):
    the same objects for every request of the same text, so an engine may key what it prepares on it."""

    document: DocumentNode
    # The operation of the document that runs (a document may hold several).
    definition: OperationDefinitionNode
    name: str | None
    variables: dict[str, Any] | None


class Engine(Protocol):
    """What answers an operation: a query or mutation whole, or one event of a subscription."""

    def execute(self, operation: Operation, context: RequestContext) -> AwaitableOrValue[ExecutionResult]:
        """The operation's result; errors are raw (the entry point formats them)."""
        ...

    def execute_event(self, event: Executor[Any]) -> AwaitableOrValue[ExecutionResult]:
        """One subscription event: graphql-core's per-event executor, the event as its root value and
        the event's own context as its context (its variables already coerced)."""
        ...
