"""Random valid read queries, generated from the graphql-core schema over the fields both engines should
answer alike: the roots below, every field of the object types they reach (but the excluded ones),
connections with random paging, TaskFilter subsets and TaskOrder fields and directions, arguments as
literals or variables, aliases, inline and named fragments, __typename and @skip/@include with literal
and variable conditions. Bounded: three levels of objects, nested pages of at most five, within the
guard's limits (schema/guard/limits.py); every document is validated and a generator bug fails loudly.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)

from schema.guard.limits import QueryLimits, check_limits
from tests.engine.pool import CURSOR_ORDER, TASK_ORDERS, Choices
from tests.engine.variables import CURSOR_BY_FIELD
from tests.engine.walk import operation_of

# Root fields and how often each is picked.
ROOTS = {
    "viewer": 4,
    "tasks": 4,
    "task": 3,
    "taskByKey": 2,
    "node": 3,
    "nodes": 2,
    "project": 3,
    "projects": 2,
    "user": 2,
    "users": 2,
    "searchTasks": 2,
}
# Links signed for the moment they are read (their expiry moves with the clock): two engines' answers
# a second apart differ, whoever executes them.
SIGNED_LINKS = frozenset({"Attachment.signedDownloadUrl", "Report.signedCsvUrl", "Report.signedHtmlUrl"})
# Fields that need privileges, or that are not the reads compared here.
EXCLUDED = frozenset({"Viewer.pushDevices", "Viewer.notifications", *SIGNED_LINKS})
NODE_TYPES = ("Task", "Project", "User", "Organization", "Comment", "Label", "Attachment", "ActivityEvent")
MAX_LEVEL = 3  # levels of objects below the root, the root's own object the first
# Each leaf's chance to be selected, and each object's or connection's by level: documents stay small
# (graphql-core's validation, in the test and in both engines, takes time in their size).
LEAF_RATE = 0.3
NESTED_RATE = {1: 0.25, 2: 0.15}
VIEWER_RATE = 0.6  # the viewer has objects only: its connections are what it is for
MAX_DIRECTIVES = 15  # the guard refuses more than 20
MAX_ALIASES = 24  # the guard refuses more than 30
# The guard's defaults (persistence.settings): a generated document must pass them.
LIMITS = QueryLimits(max_depth=12, max_aliases=30, max_root_fields=10, max_directives=20)
PAGING_MODES = {
    (): 2,
    ("first",): 4,
    ("first", "after"): 3,
    ("last",): 2,
    ("last", "before"): 2,
    ("after",): 1,
    ("before",): 1,
}


def _unwrapped(of_type: Any) -> Any:
    return of_type.of_type if isinstance(of_type, GraphQLNonNull) else of_type


def literal(value: Any, of_type: GraphQLInputType) -> str:
    """A JSON-shaped value (enums by name) written as a GraphQL literal of its type."""
    inner = _unwrapped(of_type)
    if value is None:
        text = "null"
    elif isinstance(inner, GraphQLList):
        text = "[" + ", ".join(literal(item, inner.of_type) for item in value) + "]"
    elif isinstance(inner, GraphQLInputObjectType):
        text = "{" + ", ".join(f"{k}: {literal(v, inner.fields[k].type)}" for k, v in value.items()) + "}"
    elif isinstance(inner, GraphQLEnumType):
        text = str(value)
    else:  # a scalar: JSON writes each as GraphQL does (true, 3, 2.5, "text")
        text = json.dumps(value)
    return text


class QueryGenerator:
    def __init__(self, schema: GraphQLSchema, choices: Choices) -> None:
        self.schema = schema
        self.choices = choices
        self.rng = choices.rng
        self.count = itertools.count()
        self._reset()

    def _reset(self) -> None:
        self.declared: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.fragments: list[str] = []
        self.directives = 0
        self.aliases = 0

    def document(self) -> tuple[str, dict[str, Any]]:
        self._reset()
        number = next(self.count)
        names = self.rng.choices(
            list(ROOTS), list(ROOTS.values()), k=self.rng.choices([1, 2, 3], [10, 6, 2])[0]
        )
        roots = []
        for i, name in enumerate(names):
            # The same root twice needs another response key.
            alias = f"r{i}: " if name in names[:i] else ""
            roots.append(self._root(name, alias))
        head = "query"
        if self.declared:
            head = f"query Q{number}(" + ", ".join(f"${k}: {t}" for k, t in self.declared.items()) + ")"
        elif self.rng.random() < 0.5:
            head = ""
        text = f"{head} {{ {' '.join(roots)} }} {' '.join(self.fragments)}".strip()
        document = parse(text)
        errors = validate(self.schema, document)
        assert not errors, (text, errors)
        exceeded = check_limits(document, operation_of(document), LIMITS)
        assert exceeded is None, (text, exceeded)
        return text, dict(self.values)

    # -- arguments: literals or variables ------------------------------------------------------------

    def _argument(self, argument: GraphQLArgument, name: str, value: Any) -> str:
        if self.rng.random() < 0.25:
            variable = f"v{len(self.declared)}"
            self.declared[variable] = str(argument.type)
            self.values[variable] = value
            return f"{name}: ${variable}"
        return f"{name}: {literal(value, argument.type)}"

    def _arguments(self, field: GraphQLField, values: dict[str, Any]) -> str:
        if not values:
            return ""
        written = [self._argument(field.args[name], name, value) for name, value in values.items()]
        return "(" + ", ".join(written) + ")"

    def _task_filter(self) -> dict[str, Any]:
        c = self.choices
        makers = {
            "projectIds": lambda: c.some("project_id"),
            "status": lambda: self.rng.sample(
                ["BACKLOG", "TODO", "IN_PROGRESS", "IN_REVIEW", "DONE", "CANCELED"], self.rng.randint(1, 3)
            ),
            "priority": lambda: self.rng.sample(range(5), self.rng.randint(1, 3)),
            "assigneeIds": lambda: c.some("user_id"),
            "labelIds": lambda: c.some("label_id"),
            "dueBefore": c.day,
            "dueAfter": c.day,
            "parentId": c.parent_id,
        }
        picked = self.rng.sample(list(makers), self.rng.randint(1, 3))
        return {name: makers[name]() for name in picked}

    def _task_order(self) -> dict[str, str]:
        order = {}
        if self.rng.random() < 0.9:
            order["field"] = self.rng.choice(TASK_ORDERS)
        if self.rng.random() < 0.8:
            order["direction"] = self.rng.choice(["ASC", "DESC"])
        return order

    def _connection_arguments(self, coordinate: str, field: GraphQLField, nested: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "orderBy" in field.args and self.rng.random() < 0.5:
            values["orderBy"] = self._task_order()
        if "filter" in field.args and self.rng.random() < 0.35:
            values["filter"] = self._task_filter()
        if "query" in field.args:
            values["query"] = self.choices.search()
        if "archived" in field.args and self.rng.random() < 0.4:
            values["archived"] = self.rng.choice([True, False, None])
        if "includeDeactivated" in field.args and self.rng.random() < 0.4:
            values["includeDeactivated"] = self.rng.random() < 0.5
        # A nested list's default page (20) times its parent's page would make documents slow.
        modes = [
            m
            for m in PAGING_MODES
            if all(a in field.args for a in m) and (not nested or {"first", "last"} & set(m))
        ]
        mode = self.rng.choices(modes, [PAGING_MODES[m] for m in modes])[0]
        order = CURSOR_BY_FIELD[coordinate]
        if "orderBy" in values:
            order = CURSOR_ORDER[values["orderBy"].get("field", "CREATED_AT")]
        for name in mode:
            if name in ("first", "last"):
                values[name] = self.choices.page(nested)
            else:
                values[name] = self.choices.cursor(order)
        return values

    def _root_arguments(self, name: str) -> dict[str, Any]:
        c = self.choices
        makers: dict[str, Callable[[], dict[str, Any]]] = {
            "task": lambda: {"id": c.task_id()},
            "taskByKey": lambda: {"key": c.task_key()},
            "node": lambda: {"id": c.node_id()},
            "nodes": lambda: {"ids": [c.node_id() for _ in range(self.rng.randint(1, 5))]},
            "user": lambda: {"id": c.user_id()},
            "project": lambda: (
                {"id": c.project_id()} if self.rng.random() < 0.5 else {"key": c.project_key()}
            ),
        }
        make = makers.get(name)
        return {} if make is None else make()

    # -- selections ----------------------------------------------------------------------------------

    def _directive(self) -> str:
        if self.rng.random() > 0.12 or self.directives >= MAX_DIRECTIVES:
            return ""
        self.directives += 1
        name = self.rng.choice(["skip", "include"])
        if self.rng.random() < 0.4:
            return f" @{name}(if: {self.rng.choice(['true', 'false'])})"
        variable = f"d{len(self.declared)}"
        self.declared[variable] = "Boolean!"
        self.values[variable] = self.rng.random() < 0.5
        return f" @{name}(if: ${variable})"

    def _alias(self) -> str:
        if self.rng.random() > 0.15 or self.aliases >= MAX_ALIASES:
            return ""
        self.aliases += 1
        return f"a{self.aliases}: "

    def _wrap(self, type_name: str, items: list[str]) -> list[str]:
        """Some items moved into an inline fragment (with or without its type) or a named one."""
        if len(items) < 2 or self.rng.random() < 0.6:
            return items
        cut = self.rng.randint(0, len(items) - 1)
        inner = " ".join(items[cut:])
        style = self.rng.random()
        if style < 0.35:
            return [*items[:cut], f"... on {type_name}{self._directive()} {{ {inner} }}"]
        if style < 0.5:
            return [*items[:cut], f"...{self._directive()} {{ {inner} }}"]
        name = f"F{len(self.fragments)}"
        self.fragments.append(f"fragment {name} on {type_name} {{ {inner} }}")
        return [*items[:cut], f"...{name}{self._directive()}"]

    def _root(self, name: str, alias: str) -> str:
        query_type = self.schema.query_type
        assert query_type is not None
        field = query_type.fields[name]
        coordinate = f"Query.{name}"
        values = self._root_arguments(name)
        target = get_named_type(field.type)
        if name in ("node", "nodes"):
            body = self._node(1)
        else:
            assert isinstance(target, GraphQLObjectType), name
            if coordinate in CURSOR_BY_FIELD:
                values = self._connection_arguments(coordinate, field, nested=False)
                body = self._connection(target, 1)
            else:
                body = self._object(target, 1)
        return f"{alias}{name}{self._arguments(field, values)}{self._directive()} {{ {body} }}"

    def _node(self, level: int) -> str:
        items = []
        if self.rng.random() < 0.5:
            items.append(f"{self._alias()}id")
        if self.rng.random() < 0.5:
            items.append("__typename")
        for type_name in NODE_TYPES:
            if self.rng.random() < 0.6:
                body = self._object(self.schema.get_type(type_name), level)  # type: ignore[arg-type]
                items.append(f"... on {type_name}{self._directive()} {{ {body} }}")
        if not items:
            items.append("id")
        return " ".join(items)

    def _object(self, object_type: GraphQLObjectType | GraphQLInterfaceType, level: int) -> str:
        leaves, nested = [], []
        for name, field in object_type.fields.items():
            coordinate = f"{object_type.name}.{name}"
            if coordinate in EXCLUDED:
                continue
            target = get_named_type(field.type)
            if is_leaf_type(target):
                if self.rng.random() < LEAF_RATE:
                    leaves.append(f"{self._alias()}{name}{self._directive()}")
            elif level < MAX_LEVEL and self.rng.random() < self._nested_rate(object_type.name, level):
                nested.append(self._nested(coordinate, name, field, level))
        if not leaves:
            names = [n for n, f in object_type.fields.items() if is_leaf_type(get_named_type(f.type))]
            if names:
                leaves.append(self.rng.choice(names))
            elif not nested:  # the viewer: objects only
                allowed = [n for n in object_type.fields if f"{object_type.name}.{n}" not in EXCLUDED]
                name = self.rng.choice(allowed)
                nested.append(
                    self._nested(f"{object_type.name}.{name}", name, object_type.fields[name], level)
                )
        if self.rng.random() < 0.15:
            leaves.append("__typename")
        items = leaves + nested
        self.rng.shuffle(items)
        return " ".join(self._wrap(object_type.name, items))

    @staticmethod
    def _nested_rate(type_name: str, level: int) -> float:
        return VIEWER_RATE if type_name == "Viewer" else NESTED_RATE[level]

    def _nested(self, coordinate: str, name: str, field: GraphQLField, level: int) -> str:
        target = get_named_type(field.type)
        assert isinstance(target, GraphQLObjectType), coordinate
        head = f"{self._alias()}{name}"
        if coordinate in CURSOR_BY_FIELD:
            values = self._connection_arguments(coordinate, field, nested=True)
            body = self._connection(target, level + 1)
            return f"{head}{self._arguments(field, values)}{self._directive()} {{ {body} }}"
        return f"{head}{self._directive()} {{ {self._object(target, level + 1)} }}"

    def _connection(self, connection: GraphQLObjectType, level: int) -> str:
        """A connection's parts; its nodes are objects of ``level``."""
        node_type = get_named_type(connection.fields["nodes"].type)
        assert isinstance(node_type, GraphQLObjectType)
        parts = []
        if self.rng.random() < 0.6:
            parts.append(f"{self._alias()}nodes{self._directive()} {{ {self._object(node_type, level)} }}")
        if self.rng.random() < 0.4:
            edge = []
            if self.rng.random() < 0.8:
                edge.append(f"{self._alias()}cursor")
            if not edge or self.rng.random() < 0.6:
                edge.append(f"node {{ {self._object(node_type, level)} }}")
            parts.append(f"edges{self._directive()} {{ {' '.join(edge)} }}")
        if self.rng.random() < 0.4:
            names = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]
            picked = self.rng.sample(names, self.rng.randint(1, 4))
            parts.append(f"pageInfo {{ {' '.join(self._alias() + n for n in picked)} }}")
        if not parts or self.rng.random() < 0.4:
            parts.append(f"{self._alias()}totalCount{self._directive()}")
        if self.rng.random() < 0.1:
            parts.append("__typename")
        return " ".join(self._wrap(connection.name, parts))
