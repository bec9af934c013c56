"""Which subscription documents may share one execution per event (schema/engine/shared_events.py):
only those whose every field, wherever it is written, has the same value for every subscriber."""

from __future__ import annotations

from functools import cache

import pytest
from graphql import GraphQLSchema, parse

from schema.build import build_schema
from schema.engine.shared_events import reads_only_shared_fields
from schema.subscriptions import SHARED_FIELDS


@cache
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


@pytest.mark.parametrize(
    "document",
    [
        "subscription($p: ID!) { taskEvents(projectId: $p) { type sequence task { id title } } }",
        "subscription($p: ID!) { e: taskEvents(projectId: $p) { __typename t: task { assignee { name } } } }",
        """subscription($p: ID!) { taskEvents(projectId: $p) { ...E } }
           fragment E on TaskEvent { task { ... on Task { labels { name color } project { key } } } }""",
    ],
)
def test_a_selection_of_fields_the_same_for_everyone_is_shared(document: str) -> None:
    assert reads_only_shared_fields(graphql_schema(), parse(document), SHARED_FIELDS)


@pytest.mark.parametrize(
    "document",
    [
        # The viewer's own role.
        "subscription($p: ID!) { taskEvents(projectId: $p) { task { project { viewerRole } } } }",
        # A person's projects and tasks are what the viewer may see of them.
        "subscription($p: ID!) { taskEvents(projectId: $p) { task { assignee { projects { role } } } } }",
        # Inside a fragment, and skipped or not: a variable must not be able to change the decision.
        """subscription($p: ID!, $no: Boolean!) { taskEvents(projectId: $p) { ...E @skip(if: $no) } }
           fragment E on TaskEvent { task { comments(first: 5) { totalCount } } }""",
        # The viewer's own notifications.
        "subscription { notificationAdded { type notification { id } } }",
    ],
)
def test_a_selection_with_any_viewer_dependent_field_runs_per_subscriber(document: str) -> None:
    assert not reads_only_shared_fields(graphql_schema(), parse(document), SHARED_FIELDS)
