"""A validated query as a tree of response keys per concrete type: fragments inlined, aliases as the
keys, @skip/@include decided by the variables, every field mapped to its spec. Anything without a spec
(a field, an argument, a directive, an abstract type) means the operation is not compiled: None."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

from persistence.compiled.spec import (
    ById,
    ByIdOrKey,
    ByKey,
    Column,
    Connection,
    EdgeNode,
    Edges,
    GlobalId,
    LinkedList,
    LinkRows,
    Nodes,
    OwnedList,
    PageInfo,
    RootSelection,
    SameRow,
    Selected,
    ToOne,
    Typename,
    ViewerRow,
)
from schema.engine.compiler.registry import NODE_TYPES, QUERY_ROOTS, TYPES

# Fields whose value is an object or a list of objects: their selections are planned in turn.
_WITH_OBJECTS = (
    ToOne,
    SameRow,
    LinkedList,
    Connection,
    Nodes,
    Edges,
    EdgeNode,
    PageInfo,
    OwnedList,
    LinkRows,
)


def root_arguments(spec: ById | ByKey | ByIdOrKey) -> set[str]:
    """The arguments a root field read by id or key takes (any other is not compiled)."""
    if isinstance(spec, ByIdOrKey):
        return {spec.id_argument, spec.key_argument}
    return {spec.argument}


class NotCovered(Exception):
    """Something of the operation has no spec."""


@dataclass(frozen=True, slots=True)
class PlannedRoot:
    """A root field: its selection per concrete type it may answer with (``node`` and ``nodes`` may
    be any type whose id they are given; every other root has one, under "")."""

    key: str
    alternatives: Mapping[str, RootSelection]
    # The first of the field's nodes (the location an error names) and its arguments' values.
    node: FieldNode
    arguments: Mapping[str, ValueNode]
    # ``nodes(ids:)``: a list of objects, read with one statement per type among the ids.
    many: bool = False

    @property
    def is_node(self) -> bool:
        return "" not in self.alternatives


@dataclass(frozen=True, slots=True)
class Site:
    """A connection field with its arguments: read for each request (persistence/compiled/lists.py)."""

    number: int
    root: int
    spec: Connection
    definition: GraphQLField
    node: FieldNode


@dataclass(frozen=True, slots=True)
class Planned:
    roots: tuple[PlannedRoot, ...]
    sites: tuple[Site, ...]


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables @skip/@include name anywhere in the document (the plan depends on their values)."""
    return directive_variables_under(document.definitions)


def directive_variables_under(nodes: Iterable[Any]) -> tuple[str, ...]:
    """The same under some of a document's nodes (a field and the fragments it may spread)."""
    names: set[str] = set()
    pending: list[Any] = list(nodes)
    while pending:
        node = pending.pop()
        for directive in getattr(node, "directives", None) or ():
            for argument in directive.arguments:
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            pending.extend(selection_set.selections)
    return tuple(sorted(names))


class _Normalizer:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        *,
        include_all: bool = False,
    ) -> None:
        """``include_all``: every selection counts, whatever @skip/@include say (the question is
        then whether any request could leave the compiler)."""
        self.schema = schema
        self.variables = variables
        self.include_all = include_all
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.sites: list[Site] = []
        self.root_index = 0

    def included(self, node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> bool:
        shown = True
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise NotCovered(f"directive @{name}")
            (argument,) = directive.arguments or ()
            value = argument.value
            if isinstance(value, BooleanValueNode):
                flag = value.value
            elif isinstance(value, VariableNode) and isinstance(self.variables.get(value.name.value), bool):
                flag = self.variables[value.name.value]
            elif not self.include_all:
                raise NotCovered("a directive's condition")
            if self.include_all:
                continue
            shown = shown and (not flag if name == "skip" else flag)
        return shown

    def applies(self, condition: str | None, parent: GraphQLObjectType) -> bool:
        if condition is None or condition == parent.name:
            return True
        named = self.schema.get_type(condition)
        # A fragment on an interface the type implements applies; on another object type it cannot.
        return named is not None and any(i.name == condition for i in parent.interfaces)

    def collect(
        self, parent: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """Response key -> the field nodes under it, in the order the keys first appear."""
        collected: dict[str, list[FieldNode]] = {}
        pending = [s for selection_set in selection_sets for s in selection_set.selections]
        pending.reverse()
        while pending:
            selection = pending.pop()
            if not self.included(selection):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                collected.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                condition: str | None = fragment.type_condition.name.value
                inner = fragment.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition = None if selection.type_condition is None else selection.type_condition.name.value
                inner = selection.selection_set
            else:
                raise NotCovered(type(selection).__name__)
            if self.applies(condition, parent):
                pending.extend(reversed(inner.selections))
        return collected

    def object_fields(self, parent: GraphQLObjectType, nodes: list[FieldNode]) -> tuple[Selected, ...]:
        type_spec = TYPES.get(parent.name)
        if type_spec is None:
            raise NotCovered(parent.name)
        sets = [node.selection_set for node in nodes if node.selection_set is not None]
        planned: list[Selected] = []
        for key, field_nodes in self.collect(parent, sets).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                planned.append(Selected(key, Typename(parent.name)))
                continue
            spec = type_spec.fields.get(name)
            if spec is None:
                raise NotCovered(f"{parent.name}.{name}")
            site = -1
            if isinstance(spec, Connection):
                site = self.site(spec, parent.fields[name], field_nodes[0])
            elif any(node.arguments for node in field_nodes):
                raise NotCovered(f"{parent.name}.{name}'s arguments")
            children: tuple[Selected, ...] = ()
            if isinstance(spec, _WITH_OBJECTS):
                children = self.object_fields(self.child_type(parent, name), field_nodes)
            planned.append(Selected(key, spec, children, site))
        return tuple(planned)

    def site(self, spec: Connection, definition: GraphQLField, node: FieldNode) -> int:
        """A number for a connection field (validation made every node of one key take the same
        arguments: the first one's are the field's)."""
        number = len(self.sites)
        self.sites.append(Site(number, self.root_index, spec, definition, node))
        return number

    def child_type(self, parent: GraphQLObjectType, name: str) -> GraphQLObjectType:
        child = get_named_type(parent.fields[name].type)
        if not isinstance(child, GraphQLObjectType):
            raise NotCovered(f"{parent.name}.{name} is abstract")
        return child

    def roots(self, operation: OperationDefinitionNode) -> tuple[PlannedRoot, ...]:
        query = self.schema.query_type
        if operation.operation is not OperationType.QUERY or query is None:
            raise NotCovered("not a query")
        planned: list[PlannedRoot] = []
        for index, (key, nodes) in enumerate(self.collect(query, [operation.selection_set]).items()):
            self.root_index = index
            name = nodes[0].name.value
            arguments = {a.name.value: a.value for a in nodes[0].arguments or ()}
            if name in ("node", "nodes"):
                alternatives = self.node_alternatives(key, nodes)
                planned.append(PlannedRoot(key, alternatives, nodes[0], arguments, many=name == "nodes"))
                continue
            spec = QUERY_ROOTS.get(name)
            if spec is None:
                raise NotCovered(f"Query.{name}")
            site = -1
            if isinstance(spec, Connection):
                site = self.site(spec, query.fields[name], nodes[0])
            elif isinstance(spec, ViewerRow):
                pass
            elif set(arguments) - root_arguments(spec):
                raise NotCovered(f"Query.{name}'s arguments")
            children = self.object_fields(self.child_type(query, name), nodes)
            selection = RootSelection(key, spec, children, site)
            planned.append(PlannedRoot(key, {"": selection}, nodes[0], arguments))
        return tuple(planned)

    def node_alternatives(self, key: str, nodes: list[FieldNode]) -> dict[str, RootSelection]:
        """``node``'s selection for each type the compiler reads by id; a type whose selection it
        does not cover is left out (a request for one of its ids runs on the resolvers)."""
        alternatives: dict[str, RootSelection] = {}
        for type_name, spec in NODE_TYPES.items():
            object_type = self.schema.get_type(type_name)
            if not isinstance(object_type, GraphQLObjectType):
                raise NotCovered(f"{type_name} is not an object type")
            try:
                children = self.object_fields(object_type, nodes)
            except NotCovered:
                continue
            alternatives[type_name] = RootSelection(key, spec, children)
        if not alternatives:
            raise NotCovered(f"Query.{nodes[0].name.value}")
        return alternatives


def normalize(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> Planned | None:
    """``variables``: the operation's coerced variables (only @skip/@include's are read here)."""
    normalizer = _Normalizer(schema, document, variables)
    try:
        roots = normalizer.roots(operation)
    except NotCovered:
        return None
    if all(answered_by_session(root) for root in roots):
        return None
    return Planned(roots, tuple(normalizer.sites))


def answered_by_session(root: PlannedRoot) -> bool:
    """A ``viewer`` that asks only for the viewer's own user and organization: the resolvers answer it
    from the cached session without a statement, where the compiled engine would read the database."""
    selection = root.alternatives.get("")
    if selection is None or not isinstance(selection.spec, ViewerRow):
        return False
    for field in selection.children:
        if isinstance(field.spec, Typename):
            continue
        own_row = isinstance(field.spec, SameRow)
        own_organization = isinstance(field.spec, ToOne) and field.spec.table == "organizations"
        if not (own_row or own_organization) or not all(
            isinstance(child.spec, Column | GlobalId | Typename) for child in field.children
        ):
            return False
    return True


def uncovered(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> str | None:
    """What of a valid operation the compiler does not cover, with every conditional selection
    counted (None: every request of it compiles, whatever its variables)."""
    try:
        roots = _Normalizer(schema, document, {}, include_all=True).roots(operation)
    except NotCovered as missing:
        return str(missing)
    if all(answered_by_session(root) for root in roots):
        return "the viewer's own user and organization (the session answers them)"
    return None


def object_selection(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    object_type: GraphQLObjectType,
    nodes: list[FieldNode],
) -> tuple[Selected, ...] | None:
    """The selection of ``nodes`` (one response key, of ``object_type``) planned as a root's children
    are; None when something of it has no spec or a connection in it takes arguments to bind per
    request (a mutation payload's object: schema/engine/payload_reads.py)."""
    normalizer = _Normalizer(schema, DocumentNode(definitions=tuple(fragments.values())), variables)
    try:
        children = normalizer.object_fields(object_type, nodes)
    except NotCovered:
        return None
    return None if normalizer.sites else children
