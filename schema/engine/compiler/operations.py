"""Plans a query once per document and runs it: one statement per root field, the answer's data made
of the JSON the database built (``orjson.Fragment`` values, spliced as they are into the response).

A plan is cached by the document's text hash, the operation's name, the values of the variables
@skip/@include read and the dialect; each root's statement text is compiled once per kind of viewer
(one who sees every project, or one who sees its own) and per shape of its connections' arguments
(which filters, how many values, the order, which cursors: persistence/compiled/lists.py). Argument
values are bind parameters, checked here as the resolvers check them (their own functions, through
the binders of arguments.py); a value the resolvers would refuse sends the operation to them, so
their error is the one given. On SQLite, a statement nested deeper than its parser takes sends the
operation to them too (persistence/compiled/sqlite_depth.py).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from sqlalchemy.engine import Dialect

from persistence.compiled.connections import OPERATOR, ORGANIZATION, USER
from persistence.compiled.lists import LeftToResolvers, ListShape
from persistence.compiled.run import read_json, read_json_by_id
from persistence.compiled.spec import ById, ByIdOrKey, ByKey, Connection
from persistence.compiled.sql import KEY, NUMBER, OBJECT_ID, CompiledStatement, compile_root, object_ids
from persistence.compiled.sqlite_depth import parses_on_sqlite
from persistence.metrics import GRAPHQL_ENGINE_OPERATIONS
from persistence.settings import Settings
from resolvers.context import RequestContext
from resolvers.errors import DomainError, NotFound
from resolvers.nodes import MAX_NODE_IDS
from resolvers.projects import project_key
from resolvers.tasks import parse_task_key
from schema.core.ids import decode_any_id, decode_id
from schema.engine.compiler.normalize import Planned, PlannedRoot, directive_variables, normalize
from schema.engine.compiler.registry import BINDERS

PLAN_CACHE_SIZE = 512
COMPILED = GRAPHQL_ENGINE_OPERATIONS.labels("compiled")
RESOLVERS = GRAPHQL_ENGINE_OPERATIONS.labels("resolvers")


class _Refused(Exception):
    """An argument the resolvers would refuse: they answer, with their own error."""


@dataclass
class Plan:
    planned: Planned
    # Per root, "sees every project" and the shapes of its connections' arguments: the statement,
    # compiled on first use.
    statements: dict[tuple[int, str, bool, tuple[ListShape, ...]], CompiledStatement] = field(
        default_factory=dict
    )

    @property
    def roots(self) -> tuple[PlannedRoot, ...]:
        return self.planned.roots

    def statement(
        self,
        index: int,
        choice: str,
        dialect: Dialect,
        sees_all_projects: bool,
        shapes: dict[int, ListShape],
    ) -> CompiledStatement:
        """``choice``: the alternative of the root that answers (node's type; "" for the others)."""
        own = tuple(shapes[site.number] for site in self.planned.sites if site.root == index)
        key = (index, choice, sees_all_projects, own)
        found = self.statements.get(key)
        if found is None:
            selection = self.roots[index].alternatives[choice]
            found = compile_root(dialect, selection, shapes, sees_all_projects)
            while len(self.statements) >= _STATEMENTS_PER_PLAN:
                del self.statements[next(iter(self.statements))]
            self.statements[key] = found
        return found

    def many_statement(
        self,
        index: int,
        type_name: str,
        count: int,
        dialect: Dialect,
        sees_all_projects: bool,
        shapes: dict[int, ListShape],
    ) -> CompiledStatement:
        """``nodes(ids:)``'s statement for ``count`` distinct ids of one type."""
        own = tuple(shapes[site.number] for site in self.planned.sites if site.root == index)
        key = (index, f"{type_name}*{count}", sees_all_projects, own)
        found = self.statements.get(key)
        if found is None:
            selection = self.roots[index].alternatives[type_name]
            found = compile_root(dialect, selection, shapes, sees_all_projects, many=count)
            while len(self.statements) >= _STATEMENTS_PER_PLAN:
                del self.statements[next(iter(self.statements))]
            self.statements[key] = found
        return found


# Shapes a plan keeps compiled statements for (a client that sends many list lengths gets the oldest
# dropped, not an unbounded cache).
_STATEMENTS_PER_PLAN = 64


class CompiledResult(ExecutionResult):
    """The data holds each root field's JSON as an ``orjson.Fragment`` (or None)."""

    def __init__(self, json: dict[str, bytes | None] | None, errors: list[GraphQLError] | None) -> None:
        data = (
            None if json is None else {k: None if v is None else orjson.Fragment(v) for k, v in json.items()}
        )
        super().__init__(data, errors)
        self.json = json

    def data_for_cost(self) -> dict[str, Any] | None:
        """The data decoded, for the actual cost's walk over its objects and scalars."""
        if self.json is None:
            return None
        return {k: None if v is None else orjson.loads(v) for k, v in self.json.items()}


@dataclass(frozen=True, slots=True)
class CompiledRun:
    """A planned operation with its values bound, ready to run for one request."""

    plan: Plan
    context: RequestContext
    dialect: Dialect
    values: tuple[dict[str, Any], ...]
    shapes: dict[int, ListShape]
    # Per root, the alternative that answers (node's type; "" for the others).
    choices: tuple[str, ...]
    # Per root, for ``nodes(ids:)``: the ids asked for, decoded, in their order (else empty).
    wanted: tuple[tuple[tuple[str, int], ...], ...]

    async def execute(self) -> CompiledResult:
        COMPILED.inc()
        principal = self.context.require_principal()
        scope = principal.scope
        viewer = {
            ORGANIZATION: scope.organization_id,
            USER: scope.user_id,
            OPERATOR: int(principal.is_operator),
        }
        data: dict[str, bytes | None] = {}
        errors: list[GraphQLError] = []
        # A failed statement is the field's error, as a resolver's exception is (INTERNAL_SERVER_ERROR,
        # logged by the formatter); a non-null root's failure nulls the whole data.
        null_data = False
        # A query's reads, and no cache filled from them: a lagging replica may serve them.
        async with self.context.db.read(lag_ok=True) as conn:
            for index, root in enumerate(self.plan.roots):
                key, choice = root.key, self.choices[index]
                if root.many:
                    try:
                        data[key], unread = await self._many(conn, index, root, viewer)
                    except Exception as failed:
                        errors.append(GraphQLError(str(failed), root.node, path=[key], original_error=failed))
                        data[key], null_data = None, True
                        continue
                    errors += unread
                    continue
                spec = root.alternatives[choice].spec
                statement = self.plan.statement(
                    index, choice, self.dialect, scope.sees_all_projects, self.shapes
                )
                try:
                    found = await read_json(conn, statement, {**viewer, **self.values[index]})
                except Exception as failed:
                    errors.append(GraphQLError(str(failed), root.node, path=[key], original_error=failed))
                    data[key] = None
                    null_data = null_data or isinstance(spec, Connection)
                    continue
                data[key] = found
                if found is None and isinstance(spec, ById | ByKey | ByIdOrKey):
                    missing = NotFound(spec.kind)
                    errors.append(
                        GraphQLError(missing.message, root.node, path=[key], original_error=missing)
                    )
        return CompiledResult(None if null_data else data, errors or None)

    async def _many(
        self, conn: Any, index: int, root: PlannedRoot, viewer: dict[str, int]
    ) -> tuple[bytes, list[GraphQLError]]:
        """``nodes(ids:)``: one statement per type among the ids, the objects put back in the ids'
        order; each one not read is null with NOT_FOUND at its position (as the resolvers answer)."""
        wanted = self.wanted[index]
        sees_all_projects = self.context.require_principal().scope.sees_all_projects
        read: dict[str, dict[int, bytes]] = {}
        for type_name, ids in _distinct_by_type(wanted).items():
            statement = self.plan.many_statement(
                index, type_name, len(ids), self.dialect, sees_all_projects, self.shapes
            )
            # The root's own values: its connections' arguments (a nested page's size, its cursor).
            values = {**viewer, **self.values[index], **dict(zip(object_ids(len(ids)), ids, strict=True))}
            read[type_name] = await read_json_by_id(conn, statement, values)
        parts: list[bytes] = []
        errors: list[GraphQLError] = []
        for position, (type_name, database_id) in enumerate(wanted):
            found = read[type_name].get(database_id)
            if found is None:
                spec = root.alternatives[type_name].spec
                missing = NotFound(spec.kind if isinstance(spec, ById) else "node")
                path: list[str | int] = [root.key, position]
                errors.append(GraphQLError(missing.message, root.node, path=path, original_error=missing))
            parts.append(b"null" if found is None else found)
        return b"[" + b",".join(parts) + b"]", errors


def _distinct_by_type(wanted: tuple[tuple[str, int], ...]) -> dict[str, list[int]]:
    """The distinct ids of each type, in the order first asked for."""
    by_type: dict[str, dict[int, None]] = {}
    for type_name, database_id in wanted:
        by_type.setdefault(type_name, {})[database_id] = None
    return {type_name: list(ids) for type_name, ids in by_type.items()}


class OperationCompiler:
    def __init__(self, schema: GraphQLSchema, dialect: Dialect, settings: Settings) -> None:
        self.schema = schema
        self.dialect = dialect
        self.settings = settings
        self._plans: OrderedDict[tuple[Any, ...], Plan | None] = OrderedDict()
        self._directive_variables: dict[str, tuple[str, ...]] = {}

    def prepare(
        self,
        context: RequestContext,
        text: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> CompiledRun | None:
        """The operation, planned and bound, when the compiler covers it and its values are valid;
        None: the resolvers run it."""
        if context.principal is None:
            return None
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return None
        values = coerced.coerced
        plan = self._plan(text, document, operation, values)
        if plan is None:
            return None
        try:
            shapes, site_values = self._bind_sites(plan.planned, coerced)
            bound = [self._bind(root, values) for root in plan.roots]
            wanted = tuple(_wanted(root, values) for root in plan.roots)
        except _Refused:
            return None
        choices = tuple(choice for choice, _ in bound)
        if self.dialect.name == "sqlite" and not self._parses_on_sqlite(
            plan, context, shapes, choices, wanted
        ):
            return None
        parameters = tuple({**own, **site_values} for _, own in bound)
        return CompiledRun(plan, context, self.dialect, parameters, shapes, choices, wanted)

    def _parses_on_sqlite(
        self,
        plan: Plan,
        context: RequestContext,
        shapes: dict[int, ListShape],
        choices: tuple[str, ...],
        wanted: tuple[tuple[tuple[str, int], ...], ...],
    ) -> bool:
        """Every root's statement (compiled now, as the run would) is within SQLite's parser's depth."""
        sees_all_projects = context.require_principal().scope.sees_all_projects
        statements: list[CompiledStatement] = []
        for index, choice in enumerate(choices):
            if plan.roots[index].many:
                statements += [
                    plan.many_statement(index, type_name, len(ids), self.dialect, sees_all_projects, shapes)
                    for type_name, ids in _distinct_by_type(wanted[index]).items()
                ]
            else:
                statements.append(plan.statement(index, choice, self.dialect, sees_all_projects, shapes))
        return all(parses_on_sqlite(s.sql, len(s.parameter_names)) for s in statements)

    def _plan(
        self,
        text: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        values: Mapping[str, Any],
    ) -> Plan | None:
        digest = hashlib.sha256(text.encode()).hexdigest()
        named = self._directive_variables.get(digest)
        if named is None:
            named = self._directive_variables[digest] = directive_variables(document)
            while len(self._directive_variables) > PLAN_CACHE_SIZE:
                del self._directive_variables[next(iter(self._directive_variables))]
        name = None if operation.name is None else operation.name.value
        key = (digest, name, self.dialect.name, tuple(values.get(n) for n in named))
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        planned = normalize(self.schema, document, operation, values)
        plan = None if planned is None else Plan(planned)
        self._plans[key] = plan
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return plan

    def _bind_sites(
        self, planned: Planned, values: VariableValues
    ) -> tuple[dict[int, ListShape], dict[str, Any]]:
        """Each connection's arguments read as the resolvers read them: their shapes and values."""
        shapes: dict[int, ListShape] = {}
        bound: dict[str, Any] = {}
        for site in planned.sites:
            try:
                arguments = get_argument_values(site.definition, site.node, values)
                listed = BINDERS[site.spec.arguments](arguments, self.settings)
            except (DomainError, GraphQLError, LeftToResolvers) as refused:
                raise _Refused from refused
            shapes[site.number] = listed.shape()
            bound.update(listed.parameters(site.number, self.dialect.name))
        return shapes, bound

    def _bind(self, root: PlannedRoot, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The alternative that answers and the root's own parameters (``nodes``: none, see _wanted)."""
        if root.many:
            return "", {}
        if root.is_node:
            global_id = _value(root.arguments.get("id"), values)
            if not isinstance(global_id, str):
                raise _Refused
            try:
                type_name, database_id = decode_any_id(global_id)
            except DomainError as refused:
                raise _Refused from refused
            if type_name not in root.alternatives:
                raise _Refused
            return type_name, {OBJECT_ID: database_id}
        spec = root.alternatives[""].spec
        if isinstance(spec, ByIdOrKey):
            return "", _bind_id_or_key(spec, root, values)
        if isinstance(spec, ById):
            global_id = _value(root.arguments.get(spec.argument), values)
            if not isinstance(global_id, str):
                raise _Refused
            try:
                return "", {OBJECT_ID: decode_id(global_id, spec.type_name)}
            except DomainError as refused:
                raise _Refused from refused
        if isinstance(spec, ByKey):
            key = _value(root.arguments.get(spec.argument), values)
            if not isinstance(key, str):
                raise _Refused
            try:
                project_key, number = parse_task_key(key)
            except DomainError as refused:
                raise _Refused from refused
            return "", {KEY: project_key, NUMBER: number}
        return "", {}


def _wanted(root: PlannedRoot, values: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """``nodes(ids:)``'s ids decoded, in their order; more than the resolvers take, a malformed id or
    one of a type the plan does not read: _Refused (the resolvers answer, with their error)."""
    if not root.many:
        return ()
    global_ids = _value(root.arguments.get("ids"), values)
    if not isinstance(global_ids, list) or len(global_ids) > MAX_NODE_IDS:
        raise _Refused
    decoded: list[tuple[str, int]] = []
    for global_id in global_ids:
        if not isinstance(global_id, str):
            raise _Refused
        try:
            type_name, database_id = decode_any_id(global_id, argument="ids")
        except DomainError as refused:
            raise _Refused from refused
        if type_name not in root.alternatives:
            raise _Refused
        decoded.append((type_name, database_id))
    return tuple(decoded)


def _bind_id_or_key(spec: ByIdOrKey, root: PlannedRoot, values: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly one of the id and the key, read as Query.project reads them (the other bound NULL);
    both, neither or a value they refuse: _Refused."""
    global_id = _value(root.arguments.get(spec.id_argument), values)
    key = _value(root.arguments.get(spec.key_argument), values)
    if (global_id is None) == (key is None):
        raise _Refused
    if key is not None:
        if not isinstance(key, str):
            raise _Refused
        return {OBJECT_ID: None, KEY: project_key(key)}
    if not isinstance(global_id, str):
        raise _Refused
    try:
        return {OBJECT_ID: decode_id(global_id, spec.type_name), KEY: None}
    except DomainError as refused:
        raise _Refused from refused


def _value(node: ValueNode | None, values: Mapping[str, Any]) -> Any:
    """An argument's value as the resolvers would get it (IDs and Ints only), or _Refused."""
    if node is None:
        return None
    if isinstance(node, VariableNode):
        return values.get(node.name.value)
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return [_value(item, values) for item in node.values]
    raise _Refused
