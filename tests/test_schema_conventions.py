"""The schema keeps its own conventions (docs/api.md#conventions), walked over graphql-core's schema:
one `input` per mutation and a payload with `errors`, a replacement for every deprecated mutation,
and a description on every type, field, argument and enum value."""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from schema.build import build_schema

# What graphql-core defines (the built-in scalars and the introspection types) is not ours to describe.
_BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def _schema() -> GraphQLSchema:
    return build_schema()._schema


def _mutations(schema: GraphQLSchema) -> GraphQLObjectType:
    mutation = schema.mutation_type
    assert mutation is not None
    return mutation


def test_every_current_mutation_with_arguments_takes_one_input() -> None:
    loose = [
        name
        for name, field in _mutations(_schema()).fields.items()
        if field.args
        and not field.deprecation_reason
        and (
            list(field.args) != ["input"]
            or not isinstance(field.args["input"].type, GraphQLNonNull)
            or not isinstance(get_named_type(field.args["input"].type), GraphQLInputObjectType)
        )
    ]
    assert loose == []


def test_every_mutation_with_arguments_answers_a_payload_with_errors() -> None:
    schema = _schema()
    error_interface = schema.get_type("MutationError")
    without: list[str] = []
    for name, field in _mutations(schema).fields.items():
        if not field.args or field.deprecation_reason:
            continue
        payload = get_named_type(field.type)
        errors = payload.fields.get("errors") if isinstance(payload, GraphQLObjectType) else None
        # errors: [<Something>Error!]! whose items are MutationErrors
        shaped = (
            errors is not None
            and isinstance(errors.type, GraphQLNonNull)
            and isinstance(errors.type.of_type, GraphQLList)
            and isinstance(errors.type.of_type.of_type, GraphQLNonNull)
        )
        item = None if errors is None else get_named_type(errors.type)
        if not shaped or not isinstance(item, GraphQLObjectType) or error_interface not in item.interfaces:
            without.append(name)
    assert without == []


def test_every_deprecated_mutation_names_its_replacement() -> None:
    mutations = _mutations(_schema()).fields
    for name, field in mutations.items():
        if not field.deprecation_reason:
            continue
        named = re.findall(r"`(\w+)`", field.deprecation_reason)
        assert named, name
        assert named[0] in mutations, name
        assert not mutations[named[0]].deprecation_reason, name


def _undescribed(schema: GraphQLSchema) -> list[str]:
    missing: list[str] = []
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__") or type_name in _BUILT_IN:
            continue
        if not named.description:
            missing.append(type_name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"{type_name}.{field_name}")
                for arg_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        missing.append(f"{type_name}.{field_name}({arg_name}:)")
        if isinstance(named, GraphQLEnumType):
            missing += [f"{type_name}.{v}" for v, value in named.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    missing = _undescribed(_schema())
    assert missing == [], f"{len(missing)} without a description: {missing[:40]}"


def test_the_walk_finds_a_missing_description() -> None:
    # Given a schema with one undescribed field (the check would pass vacuously if the walk saw nothing)
    schema = _schema()
    query = schema.query_type
    assert query is not None
    task = query.fields["task"]
    kept = task.description
    task.description = None
    try:
        assert "Query.task" in _undescribed(schema)
    finally:
        task.description = kept
