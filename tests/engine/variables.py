"""Variables for any document: each filled from where the operation uses it (the argument, or the input
field inside one) and its declared type, with values of the seeded organization (tests/engine/pool.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    VariableNode,
    type_from_ast,
)

from tests.engine.pool import CURSOR_ORDER, Choices
from tests.engine.walk import ValueVisit, operation_of, walk

# Which kind of id an argument or input field takes, by where it is (first) or its name (then).
ID_BY_FIELD = {
    "Query.task": "task_id",
    "Query.node": "node_id",
    "Query.nodes": "node_id",
    "Query.project": "project_id",
    "Query.user": "user_id",
}
ID_BY_NAME = {
    "projectIds": "project_id",
    "projectId": "project_id",
    "assigneeIds": "user_id",
    "assigneeId": "user_id",
    "userId": "user_id",
    "labelIds": "label_id",
    "labelId": "label_id",
    "parentId": "parent_id",
}
# The order a list's cursors carry when no orderBy says otherwise.
CURSOR_BY_FIELD = {
    "Query.tasks": CURSOR_ORDER["CREATED_AT"],
    "Viewer.assignedTasks": CURSOR_ORDER["CREATED_AT"],
    "User.assignedTasks": CURSOR_ORDER["CREATED_AT"],
    "Project.tasks": CURSOR_ORDER["CREATED_AT"],
    "Task.comments": "comment",
    "Task.activity": "activity",
    "Query.projects": "name",
    "Viewer.projects": "name",
    "Query.users": "name",
    "Query.searchTasks": "search",
}
NULL_RATE = 0.15  # a nullable variable's share of nulls


class VariableFiller:
    def __init__(self, schema: GraphQLSchema, choices: Choices) -> None:
        self.schema = schema
        self.choices = choices
        self.rng = choices.rng

    def fill(self, document: DocumentNode) -> dict[str, Any]:
        operation = operation_of(document)
        uses: dict[str, ValueVisit] = {}
        for visit in walk(self.schema, document).values:
            if isinstance(visit.node, VariableNode):
                uses.setdefault(visit.node.name.value, visit)
        values: dict[str, Any] = {}
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if definition.default_value is not None and self.rng.random() < 0.3:
                continue  # its default
            declared = type_from_ast(self.schema, definition.type)
            assert declared is not None, name
            use = uses.get(name)
            place = (use.field, use.path) if use else ("", ("if",))  # unused but in a directive
            values[name] = self.value(declared, place)  # type: ignore[arg-type]  # a variable's type is an input type
        return values

    def value(self, of_type: GraphQLInputType, place: tuple[str, tuple[str, ...]]) -> Any:
        if isinstance(of_type, GraphQLNonNull):
            return self._present(of_type.of_type, place)
        if self.rng.random() < NULL_RATE:
            return None
        return self._present(of_type, place)

    def _present(self, of_type: GraphQLInputType, place: tuple[str, tuple[str, ...]]) -> Any:
        if isinstance(of_type, GraphQLList):
            items = [self.value(of_type.of_type, place) for _ in range(self.rng.randint(1, 3))]
            return list(dict.fromkeys(items)) if all(isinstance(i, str) for i in items) else items
        if isinstance(of_type, GraphQLInputObjectType):
            fields = {}
            for name, input_field in of_type.fields.items():
                required = isinstance(input_field.type, GraphQLNonNull) and input_field.default_value is None
                if required or self.rng.random() < 0.4:
                    fields[name] = self.value(input_field.type, (place[0], (*place[1], name)))
            return fields
        if isinstance(of_type, GraphQLEnumType):
            return self.rng.choice(list(of_type.values))
        assert isinstance(of_type, GraphQLScalarType)
        return self._scalar(of_type.name, place)

    def _scalar(self, type_name: str, place: tuple[str, tuple[str, ...]]) -> Any:
        field, path = place
        name = path[-1]
        if type_name == "ID":
            pick = ID_BY_FIELD.get(field) if len(path) == 1 else None
            return getattr(self.choices, pick or ID_BY_NAME.get(name, "task_id"))()
        if type_name == "Int":
            # Pages; else priorities, and small counts elsewhere.
            return self.rng.randint(0, 50 if name in ("first", "last") else 4)
        if type_name == "String":
            return self._string(field, name)
        others: dict[str, Callable[[], Any]] = {
            "Boolean": lambda: self.rng.random() < 0.5,
            "Date": self.choices.day,
            "DateTime": self.choices.moment,
            "Float": lambda: float(self.rng.randint(0, 40) * 512),
        }
        return others.get(type_name, dict)()  # JSON: an empty object

    def _string(self, field: str, name: str) -> str | None:
        if name in ("after", "before"):
            return self.choices.cursor(CURSOR_BY_FIELD.get(field, ""))
        if name == "key":
            return self.choices.project_key() if field == "Query.project" else self.choices.task_key()
        if name == "query":
            return self.choices.search()
        return self.rng.choice(("alpha", "billing", "OPS"))
