"""Which execution engine runs an operation, as the schema's compiler judges it (the resolvers
report it when trusted documents are registered; schema/engine/compiler/coverage.py judges)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode


@dataclass(frozen=True)
class EngineChoice:
    """ "compiled" (one SQL statement per root field) or "resolvers", with the first field the
    compiler does not cover."""

    engine: str
    uncovered: str | None = None


EngineJudge = Callable[[GraphQLSchema, DocumentNode, OperationDefinitionNode], EngineChoice]
