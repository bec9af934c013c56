"""What registering a trusted document checks: the body parses, validates against the schema, holds
exactly one operation; and its cost, at the page cap whatever the variables (the most it can cost)."""

from __future__ import annotations

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)

from persistence.settings import Settings
from resolvers.engines import EngineJudge
from resolvers.errors import BadUserInput
from resolvers.trusted_documents import Prepare, PreparedOperation
from schema.guard.cost import CostModel, operation_cost
from schema.guard.validation_errors import bounded_errors


def _bad(message: str) -> BadUserInput:
    return BadUserInput(message, argument="input.manifest")


def preparer(schema: GraphQLSchema, settings: Settings, judge: EngineJudge | None = None) -> Prepare:
    """``prepare(body)`` for ``register_documents``, against this schema. The document's id is added to
    the error by the caller, which knows it."""
    model = CostModel(max_page_size=settings.max_page_size, default_page_size=settings.default_page_size)

    def prepare(body: str) -> PreparedOperation:
        try:
            document = parse(body, max_tokens=settings.max_query_tokens)
        except GraphQLError as error:
            raise _bad(f"does not parse: {error.message}") from error
        errors = validate(schema, document, specified_rules)
        if errors:
            raise _bad("does not validate: " + "; ".join(error.message for error in bounded_errors(errors)))
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1:
            raise _bad(f"holds {len(operations)} operations; a trusted document holds exactly one")
        [operation] = operations
        cost = operation_cost(schema, document, None, None, model, pages_at_cap=True)
        name = operation.name.value if operation.name else None
        engine = None if judge is None else judge(schema, document, operation)
        return PreparedOperation(operation.operation.value, name, cost, engine)

    return prepare
