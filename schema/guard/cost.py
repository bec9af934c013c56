"""The cost of an operation before it runs (an estimate) and after (from the data it answered).

The estimate drives graphql-complexity's ``ComplexityVisitor`` over the graphql-core schema with our
own estimator, and keeps the library's cost tree (``Field``, ``ListField``, ``MetaField`` and
fragments evaluated at each spread). The pinned 1.0.0 is broken against graphql-core 3.3 in ways the
visitor here steps around:

- It multiplies only fields whose type is a bare ``GraphQLList``: ``[T!]!`` is a ``GraphQLNonNull``
  and was never multiplied. We multiply by page arguments, and unwrap NonNull to tell lists apart.
- graphql-core 3.3 leaves ``arguments`` and ``directives`` None when a node has none; the library
  iterates them, so a list field without arguments crashed. We never call its argument helpers.
- A variable without a default and without a value crashed ``enter_variable_definition``; we read
  variables and their defaults ourselves, and an unknown page size is the default page size.
- ``@skip``/``@include`` on an inline fragment or a spread skipped the enclosing field instead (it
  wraps whatever node is current); we decide inclusion per selection and skip just that subtree.
- A fragment was evaluated afresh at every spread (exponential in a fragment bomb, unbounded in a
  cycle); each fragment is evaluated once here and a cycle counts nothing.
- ``DirectivesEstimator`` crashes on these SDL nodes; we have our own estimator and need no
  ``@complexity`` directive.

The model. A connection is a field with a ``first`` or ``last`` argument: its subtree costs once per
item of its page (the argument's value, else the default page size, at most the maximum; with
``pages_at_cap``, always the maximum). ``pageInfo`` and ``totalCount`` are in that subtree too: the
estimate errs high there rather than tell connection fields from item fields. A field
returning an object costs ``object_cost``, per item when the field is itself a paged list. A list
without page arguments (``labels: [Label!]!``, a connection's ``edges``) costs once, not once per
element: its length is unknown before it runs and such lists are short by design; their elements
are still paid per item of any enclosing connection. So ``actual_cost``, which counts every object,
can exceed the estimate only when such lists are longer than the unfilled part of the pages.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
    is_list_type,
    value_from_ast_untyped,
    visit,
)
from graphql.language.visitor import SKIP
from graphql_complexity.estimators import ComplexityEstimator
from graphql_complexity.evaluator.nodes import ComplexityNode, Field, ListField, MetaField
from graphql_complexity.evaluator.utils import is_meta_type
from graphql_complexity.evaluator.visitor import ComplexityVisitor

PAGE_ARGUMENTS = ("first", "last")
# A list field whose length is its argument's (``nodes(ids:)``): priced per id, as a page per item.
ID_LIST_ARGUMENTS = ("ids",)


@dataclass(frozen=True)
class CostModel:
    max_page_size: int = 100  # cap for first/last
    default_page_size: int = 20  # when first/last is omitted on a connection
    object_cost: int = 1  # each field returning an object (or list of objects), per item
    scalar_cost: int = 0
    mutation_cost: int = 10  # each root mutation field, on top of its selection


class _Pages:
    """Page sizes and @skip/@include, read from the operation's variables and their defaults."""

    def __init__(self, variables: Mapping[str, Any], model: CostModel, *, at_cap: bool) -> None:
        self.variables = variables
        self.model = model
        self.at_cap = at_cap
        # The variables the cost depends on: with the document's text, they key the cache.
        self.read: set[str] = set()

    def size(self, node: FieldNode) -> int:
        if self.at_cap:
            return self.model.max_page_size
        given = [
            self._int(argument.value)
            for argument in node.arguments or ()
            if argument.name.value in PAGE_ARGUMENTS
        ] + [
            self._length(argument.value)
            for argument in node.arguments or ()
            if argument.name.value in ID_LIST_ARGUMENTS
        ]
        sizes = [size for size in given if size is not None]
        size = max(sizes) if sizes else self.model.default_page_size
        return min(max(size, 0), self.model.max_page_size)

    def includes(self, directives: tuple[DirectiveNode, ...] | None) -> bool:
        """False only when @skip/@include certainly drop the selection: unknown means included."""
        for directive in directives or ():
            condition = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
            value = self._value(condition) if condition is not None else None
            if directive.name.value == "skip" and value is True:
                return False
            if directive.name.value == "include" and value is False:
                return False
        return True

    def _int(self, node: ValueNode) -> int | None:
        if isinstance(node, IntValueNode):
            return int(node.value)
        value = self._value(node)
        # bool is an int to Python, never to GraphQL; GraphQL's Int takes 3.0 as 3.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _length(self, node: ValueNode) -> int | None:
        """How many items a list argument holds (None when not known: the default page size)."""
        if isinstance(node, ListValueNode):
            return len(node.values)
        value = self._value(node)
        return len(value) if isinstance(value, list) else None

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            self.read.add(node.name.value)
            return self.variables.get(node.name.value)
        if isinstance(node, BooleanValueNode):
            return node.value
        return None


class _Estimator(ComplexityEstimator):  # type: ignore[misc]  # the library ships no types
    def __init__(self, schema: GraphQLSchema, pages: _Pages) -> None:
        super().__init__()
        self.mutation_type = schema.mutation_type
        self.pages = pages

    def get_field_complexity(self, node: FieldNode, type_info: TypeInfo, path: Any) -> int:
        model = self.pages.model
        type_ = type_info.get_type()
        cost = model.object_cost if is_composite_type(get_named_type(type_)) else model.scalar_cost
        if _is_paged(type_info) and is_list_type(get_nullable_type(type_)):
            cost *= self.pages.size(node)
        if self.mutation_type is not None and type_info.get_parent_type() is self.mutation_type:
            cost += model.mutation_cost
        return cost


def _is_paged(type_info: TypeInfo) -> bool:
    definition = type_info.get_field_def()
    return definition is not None and any(
        name in definition.args for name in (*PAGE_ARGUMENTS, *ID_LIST_ARGUMENTS)
    )


class _FragmentCosts:
    """Each fragment evaluated once, however often it is spread; a cycle (invalid) counts nothing."""

    def __init__(self, trees: Mapping[str, ComplexityNode]) -> None:
        self.trees = trees
        self.costs: dict[str, int] = {}
        self.entered: set[str] = set()

    def of(self, name: str) -> int:
        if name in self.costs:
            return self.costs[name]
        tree = self.trees.get(name)
        if tree is None or name in self.entered:
            return 0
        self.entered.add(name)
        cost: int = tree.evaluate()
        self.entered.discard(name)
        self.costs[name] = cost
        return cost


class _Spread(ComplexityNode):  # type: ignore[misc]  # the library ships no types
    def __init__(self, name: str, fragments: _FragmentCosts) -> None:
        super().__init__(name=name)
        self.fragments = fragments

    def evaluate(self) -> int:
        return self.fragments.of(self.name)


class _CostVisitor(ComplexityVisitor):  # type: ignore[misc]  # the library ships no types
    current_node: ComplexityNode

    def __init__(self, estimator: _Estimator, type_info: TypeInfo) -> None:
        super().__init__(estimator=estimator, type_info=type_info)
        self.pages = estimator.pages
        self.fragment_costs = _FragmentCosts(self.fragments)

    def enter_variable_definition(self, *_: Any) -> None:
        """The library's crashes on a variable without a default; _Pages has them all."""

    def enter_directive(self, *_: Any) -> None:
        """The library's skips the enclosing field; inclusion is decided per selection below."""

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        if not self.pages.includes(node.directives):
            return SKIP
        type_info = self.type_info
        complexity = self.estimator.get_field_complexity(node, type_info, None)
        child: ComplexityNode
        if is_meta_type(type_info.get_type(), node):
            child = MetaField(name=node.name.value)
        elif _is_paged(type_info):
            child = ListField(name=node.name.value, complexity=complexity, count=self.pages.size(node))
        else:
            child = Field(name=node.name.value, complexity=complexity)
        self.current_node.add_child(child)
        self.current_node = child
        return None

    def enter_inline_fragment(self, node: InlineFragmentNode, *_: Any) -> Any:
        return None if self.pages.includes(node.directives) else SKIP

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        if self.pages.includes(node.directives):
            self.current_node.add_child(_Spread(node.name.value, self.fragment_costs))


def _variables_with_defaults(
    operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> dict[str, Any]:
    given = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in given and definition.default_value is not None:
            given[name] = value_from_ast_untyped(definition.default_value)
    return given


def _estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    model: CostModel,
    *,
    pages_at_cap: bool,
) -> tuple[int, frozenset[str]]:
    """The cost, and the names of the variables it read."""
    pages = _Pages(_variables_with_defaults(operation, variables), model, at_cap=pages_at_cap)
    type_info = TypeInfo(schema)
    visitor = _CostVisitor(_Estimator(schema, pages), type_info)
    # Only the chosen operation: the library's root sums every operation in the document.
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            visit(definition, TypeInfoVisitor(type_info, visitor))
    visit(operation, TypeInfoVisitor(type_info, visitor))
    cost: int = visitor.complexity_tree.evaluate()
    return cost, frozenset(pages.read)


K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        if len(self.items) > self.entries:
            self.items.popitem(last=False)


# The estimate runs on every request and walking the document is most of its cost (~0.4-0.8 ms for
# the operations in perf/): it is kept per document text, operation, model, and the values of just
# the variables it read (page sizes, @skip/@include conditions), never per document identity.
_CACHE_ENTRIES = 1024
_MISSING = object()  # a variable not given differs from one given as null: only the first takes the default
_Base = tuple[GraphQLSchema, str, str | None, CostModel, bool]
_variables_read: _Lru[_Base, frozenset[str]] = _Lru(_CACHE_ENTRIES)
_CostKey = tuple[_Base, tuple[tuple[str, type, Any], ...]]
_costs: _Lru[_CostKey, int] = _Lru(_CACHE_ENTRIES)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    model: CostModel,
    *,
    pages_at_cap: bool = False,
) -> int:
    """The estimated cost of one operation; 0 when the document has no such operation.

    ``pages_at_cap`` gives an upper bound whatever the variables (every page at the maximum).
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    base = (schema, document.loc.source.body, operation_name, model, pages_at_cap) if document.loc else None
    read = _variables_read.get(base) if base is not None else None
    if base is not None and read is not None:
        key = _cost_key(base, read, variables)
        cached = _costs.get(key) if key is not None else None
        if cached is not None:
            return cached
    cost, read = _estimate(schema, document, operation, variables, model, pages_at_cap=pages_at_cap)
    if base is not None:
        _variables_read.put(base, read)
        key = _cost_key(base, read, variables)
        if key is not None:
            _costs.put(key, cost)
    return cost


def _cost_key(base: _Base, read: frozenset[str], variables: Mapping[str, Any] | None) -> _CostKey | None:
    given = variables or {}
    # The type too: True == 1 == 1.0 to Python, yet only 1 and 1.0 are the same page size.
    values = ((name, type(value), value) for name, value in ((n, given.get(n, _MISSING)) for n in read))
    key = (base, tuple(sorted(values, key=lambda item: item[0])))
    try:
        hash(key)
    except TypeError:  # a value that cannot be hashed (a list where an Int belongs): not cached
        return None
    return key


def actual_cost(data: Mapping[str, Any] | None, *, is_mutation_fields: int, model: CostModel) -> int:
    """What the answer cost: each object in ``data`` (per list element), plus each mutation field."""
    cost = model.mutation_cost * is_mutation_fields
    pending: list[Any] = list((data or {}).values())
    while pending:
        value = pending.pop()
        if isinstance(value, Mapping):
            cost += model.object_cost
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif value is not None:
            cost += model.scalar_cost
    return cost
