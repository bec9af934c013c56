"""The schema never breaks a client unannounced: the live schema against the last released one
(schema/released.graphql), with CHANGELOG.md's Unreleased section naming each breaking change."""

from __future__ import annotations

import warnings

import pytest
from graphql import GraphQLObjectType, GraphQLSchema

from schema.build import build_schema
from tests.schema_changes import (
    CHANGELOG,
    DangerousSchemaChange,
    compare,
    deprecated_coordinates,
    recorded_digest,
    released_digest,
    released_schema,
    sections,
)


def _live() -> GraphQLSchema:
    return build_schema()._schema


def _unreleased() -> str:
    return sections(CHANGELOG.read_text())["Unreleased"]


def _without_query_field(schema: GraphQLSchema, field_name: str) -> GraphQLSchema:
    """The schema with one Query field removed (built in memory: no file changes)."""
    query = schema.query_type
    assert query is not None
    assert field_name in query.fields
    kept = {name: field for name, field in query.fields.items() if name != field_name}
    pruned = GraphQLObjectType(query.name, kept, interfaces=query.interfaces, description=query.description)
    types = [pruned if named is query else named for named in schema.type_map.values()]
    return GraphQLSchema(
        query=pruned,
        mutation=schema.mutation_type,
        subscription=schema.subscription_type,
        types=types,
        directives=schema.directives,
    )


def test_every_breaking_change_since_the_release_is_announced() -> None:
    # Given the released schema and the live one
    comparison = compare(released_schema(), _live(), _unreleased())
    # Then the Unreleased section names every breaking change
    assert not comparison.unannounced, comparison.report()


@pytest.mark.filterwarnings("default::tests.schema_changes.DangerousSchemaChange")
def test_dangerous_changes_since_the_release_are_listed() -> None:
    # Given the released schema and the live one
    comparison = compare(released_schema(), _live(), _unreleased())
    # Then each dangerous change shows in the run's warnings summary (listed, never a failure)
    for change in comparison.dangerous:
        warnings.warn(f"{change.type.name}: {change.description}", DangerousSchemaChange, stacklevel=1)
    assert all(change.description for change in comparison.dangerous)


def test_removing_a_field_fails_the_check() -> None:
    # Given the live schema as released, and the same schema without Query.task
    live = _live()
    removed = _without_query_field(live, "task")
    # When they are compared with notes that do not name it
    comparison = compare(live, removed, "### Added\n- `Query.nodes`\n")
    # Then the removal is a breaking change nobody announced
    assert [c.description for c in comparison.unannounced] == ["Field Query.task was removed."]
    # And naming it in the Unreleased section is what lets it through
    assert not compare(live, removed, "### Removed\n- `Query.task`: use `node`.\n").unannounced


def test_the_released_schema_is_the_one_the_newest_release_recorded() -> None:
    # Given the changelog's sections, the Unreleased one first, then the releases, newest first
    names = list(sections(CHANGELOG.read_text()))
    assert names[0] == "Unreleased"
    assert len(names) >= 2
    newest_release = sections(CHANGELOG.read_text())[names[1]]
    # Then schema/released.graphql changes only with a release entry: its digest is the one recorded
    assert recorded_digest(newest_release) == released_digest()


def test_each_new_deprecation_is_in_the_changelog() -> None:
    # Given what the live schema deprecates that the released one did not
    deprecated_now = deprecated_coordinates(_live()) - deprecated_coordinates(released_schema())
    # Then clients learn of each from the Unreleased section
    missing = {c for c in deprecated_now if f"`{c}`" not in _unreleased()}
    assert not missing
