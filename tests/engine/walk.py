"""Walks one operation's selections with their schema types, fragments expanded at every spread: each
field with its parent type and the value nodes of its arguments, each fragment, alias and directive.
The variable filler reads where each variable is used; the coverage tally reads what a document asks."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    get_named_type,
)


@dataclass(frozen=True)
class FieldVisit:
    parent: str  # the type the field is selected on
    definition: GraphQLField | None  # None for the meta fields (__typename, __schema, __type)
    node: FieldNode

    @property
    def coordinate(self) -> str:
        return f"{self.parent}.{self.node.name.value}"


@dataclass(frozen=True)
class ValueVisit:
    """An argument's value, or a value inside it: ``path`` names the argument then the input fields."""

    field: str  # the coordinate of the field whose argument holds it
    path: tuple[str, ...]
    type: GraphQLInputType
    node: ValueNode


@dataclass
class Walk:
    fields: list[FieldVisit] = field(default_factory=list)
    values: list[ValueVisit] = field(default_factory=list)
    # Directive name and its `if:` value, on fields and fragments.
    directives: list[tuple[str, ValueNode | None]] = field(default_factory=list)
    inline_fragments: int = 0
    fragment_spreads: int = 0
    aliases: int = 0


def operation_of(document: DocumentNode) -> OperationDefinitionNode:
    """The document's one operation (the harvest and the generator make documents of one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1, [op.name and op.name.value for op in operations]
    return operations[0]


def walk(schema: GraphQLSchema, document: DocumentNode) -> Walk:
    operation = operation_of(document)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.get_root_type(operation.operation)
    assert root is not None
    walker = _Walker(schema, fragments)
    walker.selections(root, operation.selection_set)
    return walker.result


class _Walker:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.result = Walk()

    def _directives(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> None:
        for directive in node.directives or ():
            condition = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
            self.result.directives.append((directive.name.value, condition))

    def _named(self, name: str) -> GraphQLNamedType:
        found = self.schema.get_type(name)
        assert found is not None, name
        return found

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            self._directives(selection)  # type: ignore[arg-type]  # every selection kind has directives
            if isinstance(selection, FieldNode):
                self._field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                self.result.inline_fragments += 1
                condition = selection.type_condition
                self.selections(
                    self._named(condition.name.value) if condition else parent, selection.selection_set
                )
            elif isinstance(selection, FragmentSpreadNode):
                self.result.fragment_spreads += 1
                fragment = self.fragments[selection.name.value]
                self.selections(self._named(fragment.type_condition.name.value), fragment.selection_set)

    def _field(self, parent: GraphQLNamedType, node: FieldNode) -> None:
        if node.alias is not None:
            self.result.aliases += 1
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        self.result.fields.append(FieldVisit(parent.name, definition, node))
        if definition is None:
            return  # a meta field: introspection is not walked
        coordinate = f"{parent.name}.{node.name.value}"
        for argument in node.arguments or ():
            argument_type = definition.args[argument.name.value].type
            self._value(coordinate, (argument.name.value,), argument_type, argument.value)
        if node.selection_set is not None:
            self.selections(get_named_type(definition.type), node.selection_set)

    def _value(
        self, coordinate: str, path: tuple[str, ...], value_type: GraphQLInputType, node: ValueNode
    ) -> None:
        self.result.values.append(ValueVisit(coordinate, path, value_type, node))
        inner = value_type.of_type if isinstance(value_type, GraphQLNonNull) else value_type
        if isinstance(node, ListValueNode) and isinstance(inner, GraphQLList):
            for item in node.values:
                self._value(coordinate, path, inner.of_type, item)
        elif isinstance(node, ObjectValueNode) and isinstance(inner, GraphQLInputObjectType):
            for field_node in node.fields:
                field_type = inner.fields[field_node.name.value].type
                self._value(coordinate, (*path, field_node.name.value), field_type, field_node.value)
