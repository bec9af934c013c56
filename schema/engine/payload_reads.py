"""A mutation payload's object read as the compiled engine reads ``Query.task(id:)`` (or another root by
id): one statement whose value is the object's JSON for the payload field's selection, built by the
compiler (schema/engine/compiler/) and run on the read pool after the write committed (autocommit: it
sees the write). A selection the compiler does not cover, or one with connection arguments to bind,
is left to the payload's resolvers.

The statement is compiled once per field node of a cached document (the view keeps the parsed
documents), values of the variables @skip/@include read, and kind of viewer.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import FieldNode, GraphQLObjectType, GraphQLSchema, get_named_type
from sqlalchemy.engine import Dialect
from strawberry.types import Info

from persistence.compiled.connections import ORGANIZATION, USER
from persistence.compiled.run import read_json
from persistence.compiled.spec import ById, RootSelection
from persistence.compiled.sql import OBJECT_ID, CompiledStatement, compile_root
from persistence.compiled.sqlite_depth import parses_on_sqlite
from resolvers.context import RequestContext
from schema.core.payload_reads import Completed, PayloadReads
from schema.engine.compiler.normalize import directive_variables_under, object_selection
from schema.engine.compiler.registry import QUERY_ROOTS

# Payload selections kept planned (one per mutation document's payload field, as the plans' cache).
CACHE_SIZE = 512


@dataclass
class _Planned:
    """One payload field node's plans: the node (held, so its id cannot name another node while the
    entry lives), the variables its directives read, and the statement per their values and kind of
    viewer (None: the resolvers read it)."""

    node: FieldNode
    directive_variables: tuple[str, ...]
    statements: dict[tuple[Any, ...], CompiledStatement | None] = field(default_factory=dict)


class CompiledPayloadReads(PayloadReads):
    def __init__(self, schema: GraphQLSchema, dialect: Dialect) -> None:
        self.schema = schema
        self.dialect = dialect
        self._planned: OrderedDict[int, _Planned] = OrderedDict()

    async def read(self, info: Info[Any, Any], root_field: str, object_id: int) -> Completed | None:
        context = info.context
        if not isinstance(context, RequestContext) or context.principal is None:
            return None
        scope = context.principal.scope
        statement = self.statement(info, root_field, scope.sees_all_projects)
        if statement is None:
            return None
        values = {ORGANIZATION: scope.organization_id, USER: scope.user_id, OBJECT_ID: object_id}
        async with context.db.read() as conn:
            found = await read_json(conn, statement, values)
        return Completed(None if found is None else orjson.loads(found))

    def statement(
        self, info: Info[Any, Any], root_field: str, sees_all_projects: bool
    ) -> CompiledStatement | None:
        raw = info._raw_info
        node = raw.field_nodes[0]
        planned = self._planned.get(id(node))
        if planned is None or planned.node is not node:
            named = directive_variables_under([*raw.field_nodes, *raw.fragments.values()])
            planned = self._planned[id(node)] = _Planned(node, named)
            while len(self._planned) > CACHE_SIZE:
                self._planned.popitem(last=False)
        else:
            self._planned.move_to_end(id(node))
        variables = raw.variable_values.coerced
        key = (root_field, sees_all_projects, *(variables.get(name) for name in planned.directive_variables))
        if key not in planned.statements:
            planned.statements[key] = self._compile(info, root_field, sees_all_projects)
        return planned.statements[key]

    def _compile(
        self, info: Info[Any, Any], root_field: str, sees_all_projects: bool
    ) -> CompiledStatement | None:
        raw = info._raw_info
        spec = QUERY_ROOTS.get(root_field)
        object_type = get_named_type(raw.return_type)
        if not isinstance(spec, ById) or not isinstance(object_type, GraphQLObjectType):
            return None
        children = object_selection(
            self.schema, raw.fragments, raw.variable_values.coerced, object_type, list(raw.field_nodes)
        )
        if children is None:
            return None
        statement = compile_root(
            self.dialect, RootSelection(raw.field_name, spec, children), {}, sees_all_projects
        )
        if self.dialect.name == "sqlite" and not parses_on_sqlite(
            statement.sql, len(statement.parameter_names)
        ):
            return None
        return statement
