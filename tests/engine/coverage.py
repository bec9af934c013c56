"""What a document exercises, as named features, and the tally of which ran compiled.

Features are the field coordinates it selects (``Task.comments``), the arguments it gives
(``Task.comments(after)``), each TaskFilter field and TaskOrder field and direction, ``node`` by the
type of the id, the leaf types it reads (``type:DateTime``), aliases, fragments, __typename and
@skip/@include with literal or variable conditions, and from the answer the error codes and null
roots. REQUIRED lists what the compiled engine is to run; the tally says what it ran."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLSchema,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from resolvers.errors import BadUserInput
from schema.core.ids import decode_any_id
from tests.engine.walk import operation_of, walk

CONNECTIONS = {
    "Query.tasks": ("first", "after", "last", "before"),
    "Query.projects": ("first", "after", "last", "before"),
    "Query.users": ("first", "after", "last", "before"),
    "Query.searchTasks": ("first", "after"),
    "Viewer.projects": ("first", "after", "last", "before"),
    "Viewer.assignedTasks": ("first", "after", "last", "before"),
    "User.assignedTasks": ("first", "after", "last", "before"),
    "Project.tasks": ("first", "after", "last", "before"),
    "Task.comments": ("first", "after", "last", "before"),
    "Task.activity": ("first", "after", "last", "before"),
}
CONNECTION_TYPES = ("Task", "Project", "User", "Comment", "ActivityEvent")
REQUIRED = frozenset({
    "Query.viewer", "Query.tasks", "Query.task", "Query.taskByKey", "Query.project", "Query.projects",
    "Query.user", "Query.users", "Query.searchTasks",
    "Query.node->Task", "Query.node->Project", "Query.node->User",
    "Viewer.projects", "Viewer.assignedTasks",
    "Task.comments", "Task.subtasks", "Task.activity", "Task.labels", "User.assignedTasks", "Project.tasks",
    *(f"{connection}({argument})" for connection, arguments in CONNECTIONS.items() for argument in arguments),
    *(f"{kind}Connection.{part}" for kind in CONNECTION_TYPES for part in ("totalCount", "pageInfo")),
    *(f"{kind}Connection.edges" for kind in CONNECTION_TYPES),
    *(f"{kind}Edge.cursor" for kind in CONNECTION_TYPES),
    "PageInfo.hasNextPage", "PageInfo.hasPreviousPage", "PageInfo.startCursor", "PageInfo.endCursor",
    *(f"TaskFilter.{name}" for name in (
        "projectIds", "status", "priority", "assigneeIds", "labelIds", "dueBefore", "dueAfter", "parentId")),
    *(f"TaskOrder.field={name}" for name in (
        "CREATED_AT", "UPDATED_AT", "DUE_DATE", "PRIORITY", "NUMBER", "POSITION")),
    "TaskOrder.direction=ASC", "TaskOrder.direction=DESC",
    "alias", "named fragment", "inline fragment", "__typename",
    "@skip(variable)", "@include(variable)", "@skip(literal)", "@include(literal)",
    "type:DateTime", "type:Date", "type:ID", "type:TaskStatus", "type:UserRole", "type:ProjectRole",
    "error:NOT_FOUND", "null root",
})  # fmt: skip


def _enum_name(enum: GraphQLEnumType, value: Any) -> str:
    """An enum value's GraphQL name from its coerced value (a Python enum member, or its value)."""
    if isinstance(value, Enum):
        return value.name
    return next((name for name, v in enum.values.items() if v.value == value), str(value))


def document_features(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> set[str]:
    """What the document asks, read from its selections and its arguments' values (variables applied)."""
    walked = walk(schema, document)
    found: set[str] = set()
    if walked.aliases:
        found.add("alias")
    if walked.inline_fragments:
        found.add("inline fragment")
    if walked.fragment_spreads:
        found.add("named fragment")
    for name, condition in walked.directives:
        found.add(f"@{name}({'variable' if isinstance(condition, VariableNode) else 'literal'})")
    operation = operation_of(document)
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return found  # variables the server refuses: nothing runs
    for visit in walked.fields:
        if visit.node.name.value == "__typename":
            found.add("__typename")
            continue
        found.add(visit.coordinate)
        if visit.definition is None:
            continue
        target = get_named_type(visit.definition.type)
        if is_leaf_type(target):
            found.add(f"type:{target.name}")
        try:
            arguments = get_argument_values(visit.definition, visit.node, coerced)
        except GraphQLError:
            continue
        found |= _argument_features(schema, visit.coordinate, arguments)
    return found


def _argument_features(schema: GraphQLSchema, coordinate: str, arguments: dict[str, Any]) -> set[str]:
    found = {f"{coordinate}({name})" for name, value in arguments.items() if value is not None}
    task_filter = arguments.get("filter")
    if isinstance(task_filter, dict):
        found |= {f"TaskFilter.{name}" for name, value in task_filter.items() if value is not None}
    order = arguments.get("orderBy")
    if isinstance(order, dict):
        for name, enum_name in (("field", "TaskOrderField"), ("direction", "OrderDirection")):
            enum = schema.get_type(enum_name)
            assert isinstance(enum, GraphQLEnumType)
            found.add(f"TaskOrder.{name}={_enum_name(enum, order[name])}")
    if coordinate == "Query.node":
        with suppress(BadUserInput):  # a malformed id: the resolvers' error, no type
            found.add(f"Query.node->{decode_any_id(arguments['id'])[0]}")
    return found


def answer_features(answer: dict[str, Any]) -> set[str]:
    found = {f"error:{e.get('extensions', {}).get('code')}" for e in answer.get("errors") or ()}
    data = answer.get("data")
    if isinstance(data, dict) and any(value is None for value in data.values()):
        found.add("null root")
    return found


@dataclass
class Tally:
    """Documents by engine, and per feature how many documents of each engine had it."""

    compiled: int = 0
    fell_back: int = 0
    compiled_features: Counter[str] = field(default_factory=Counter)
    fallback_features: Counter[str] = field(default_factory=Counter)

    def add(self, features: set[str], compiled: bool) -> None:
        if compiled:
            self.compiled += 1
            self.compiled_features.update(features)
        else:
            self.fell_back += 1
            self.fallback_features.update(features)

    @property
    def share(self) -> float:
        total = self.compiled + self.fell_back
        return self.compiled / total if total else 0.0

    def missing(self, required: frozenset[str] = REQUIRED) -> list[str]:
        """Required features no compiled document had."""
        return sorted(required - set(self.compiled_features))

    def summary(self, title: str, *, required: bool, top: int = 25) -> str:
        """The share compiled, then what the documents that fell back asked for, most frequent first:
        the features no compiled document had (what the compiler lacks, likely), then the others."""
        lines = [f"{title}: {self.compiled} of {self.compiled + self.fell_back} compiled ({self.share:.0%})"]
        ranked = self.fallback_features.most_common()
        never = [(feature, count) for feature, count in ranked if not self.compiled_features[feature]]
        also = [(feature, count) for feature, count in ranked if self.compiled_features[feature]]
        if never:
            lines.append("  in documents that fell back, never in a compiled one (documents):")
            lines += [f"    {count:5d}  {feature}" for feature, count in never[:top]]
        if also:
            lines.append("  in documents that fell back, and in compiled ones (fell back / compiled):")
            lines += [
                f"    {count:5d} / {self.compiled_features[feature]:<5d} {feature}"
                for feature, count in also[:top]
            ]
        if required and (missing := self.missing()):
            lines.append(f"  required, never compiled ({len(missing)}): {', '.join(missing)}")
        return "\n".join(lines)
