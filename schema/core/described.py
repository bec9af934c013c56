"""Enums from below the schema (persistence's stored enums, the resolvers' kinds), registered under
their GraphQL names with a description for the type and for each value."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import strawberry


def graphql_enum(
    python_enum: type[enum.Enum], *, name: str, description: str, values: Mapping[str, str]
) -> None:
    """Registers ``python_enum`` as ``name``. ``values`` describes each member, by name: one left out
    (a stored value added later) or one the enum lacks fails at import, not in a client's docs."""
    strawberry.enum(python_enum, name=name, description=description)
    definition = python_enum.__strawberry_definition__  # type: ignore[attr-defined]
    members = {value.name for value in definition.values}
    if members != set(values):
        raise ValueError(f"{name}: describe exactly {sorted(members)}, not {sorted(values)}")
    for value in definition.values:
        value.description = values[value.name]
