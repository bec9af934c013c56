"""A root task list reads only the columns its selection shows (schema/tasks/columns.py): the tables must
name every field, and the pruned read must answer exactly what a full read answers."""

from __future__ import annotations

from typing import Any

import pytest

from schema.build import build_schema
from schema.core.ids import encode_id
from schema.tasks.columns import PROJECT_FIELDS, TASK_FIELDS, USER_FIELDS
from tests.conftest import PASSWORD, GraphQLClient

PEOPLE = "id name email role deactivated createdAt"
EVERY_FIELD = f"""
  id key number title description status priority position dueDate version createdAt updatedAt
  completedAt commentCount labels {{ name }} parent {{ id title }}
  project {{ id key name description archived archivedAt createdAt updatedAt }}
  assignee {{ {PEOPLE} }} reporter {{ {PEOPLE} }}
"""
THROUGH_FRAGMENTS = "... on Node { id } ...T"
FRAGMENTS = (
    "fragment T on Task { title assignee { ... on User { email } } project { ...P } } "
    "fragment P on Project { archived }"
)


def test_the_column_tables_name_every_field() -> None:
    # Given the live schema
    types = build_schema()._schema.type_map
    # Then each table lists exactly the fields of its type (a new field must say what it reads)
    for name, table in (("Task", TASK_FIELDS), ("Project", PROJECT_FIELDS), ("User", USER_FIELDS)):
        assert set(table) == {*types[name].fields, "__typename"}, name  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("selection", "fragments"),
    [
        (EVERY_FIELD, ""),
        ("title status project { name } assignee { name email }", ""),
        (THROUGH_FRAGMENTS, FRAGMENTS),
    ],
)
async def test_a_pruned_list_answers_as_a_full_read(
    gql: GraphQLClient, make_org: Any, selection: str, fragments: str
) -> None:
    # Given an organization and its owner
    org = await make_org()
    owner = gql.as_user(await gql.login(org.owner_email, PASSWORD))
    variables = {"p": encode_id("Project", org.project_ids[0])}
    # When the root list (its own statement, pruned) and the project's list (through a loader, every
    # column) read the same tasks in the same order
    root = "tasks(first: 100, filter: {projectIds: [$p]})"
    pruned = await owner.run(
        f"query($p: ID!) {{ {root} {{ nodes {{ {selection} }} }} }} {fragments}", variables
    )
    nested = "project(id: $p) { tasks(first: 100)"
    full = await owner.run(
        f"query($p: ID!) {{ {nested} {{ nodes {{ {selection} }} }} }} }} {fragments}", variables
    )
    # Then they answer the same
    assert "errors" not in pruned, pruned
    assert "errors" not in full, full
    nodes = pruned["data"]["tasks"]["nodes"]
    assert nodes
    assert nodes == full["data"]["project"]["tasks"]["nodes"]
