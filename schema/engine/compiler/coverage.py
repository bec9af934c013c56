"""Which engine runs an operation, judged once from its document (trusted documents report it when
registered): "compiled" when the compiler covers every field any request of it can select."""

from __future__ import annotations

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, OperationType

from resolvers.engines import EngineChoice
from schema.engine.compiler.normalize import uncovered


def judge_engine(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> EngineChoice:
    if operation.operation is not OperationType.QUERY:
        return EngineChoice("resolvers", f"a {operation.operation.value}")
    missing = uncovered(schema, document, operation)
    return EngineChoice("resolvers", missing) if missing else EngineChoice("compiled")
