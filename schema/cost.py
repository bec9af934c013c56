"""The cost of an operation: a placeholder that counts the fields of the operation and its fragments.

The real estimator (page sizes, per-type costs) replaces this module with the same signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    Visitor,
    get_operation_ast,
    visit,
)


@dataclass(frozen=True)
class CostModel:
    max_page_size: int = 100
    default_page_size: int = 20


class _FieldCounter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.count += 1


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    model: CostModel,
    *,
    pages_at_cap: bool = False,
) -> int:
    """The number of fields the operation selects (fragments included); 0 without such an operation."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    counter = _FieldCounter()
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            visit(definition, counter)
    visit(operation, counter)
    return counter.count
