"""Label writes (create, update, delete) and task labelling (add, remove): each one's success and
event, its expected failures in the payload, permission failures at the top, nothing written by a
refused write, the unique name under concurrency, idempotent replays, and the statement budget."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from persistence.enums import OrgRole, ProjectRole
from persistence.models import Event, Label, Project, ProjectMember, TaskLabel, User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import decode_id, encode_id
from tests.conftest import PASSWORD, GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

CREATE = """
mutation($input: LabelCreateInput!) {
  labelCreate(input: $input) { label { id name color } errors { field code message } }
}"""
UPDATE = """
mutation($input: LabelUpdateInput!) {
  labelUpdate(input: $input) { label { id name color } errors { field code message } }
}"""
DELETE = """
mutation($input: LabelDeleteInput!) {
  labelDelete(input: $input) { deletedLabelId errors { field code message } }
}"""
ADD = """
mutation($input: TaskLabelAddInput!) {
  taskLabelAdd(input: $input) { task { id labels { id name } } errors { field code message } }
}"""
REMOVE = """
mutation($input: TaskLabelRemoveInput!) {
  taskLabelRemove(input: $input) { task { id labels { id name } } errors { field code message } }
}"""


@dataclass
class Board:
    """An organization whose first project has an editor and a viewer; an outsider is in the
    organization but not in the project; the seeded owner sees everything."""

    org: SeededOrganization
    project_id: int
    task_id: int
    editor: GraphQLClient
    viewer: GraphQLClient
    outsider: GraphQLClient
    owner: GraphQLClient

    @property
    def project_gid(self) -> str:
        return encode_id("Project", self.project_id)

    @property
    def task_gid(self) -> str:
        return encode_id("Task", self.task_id)


async def _member(services: Services, org: SeededOrganization, name: str, role: ProjectRole | None) -> str:
    """A plain member of the organization (in the first project with ``role``); returns the email."""
    email = f"{name}-{org.organization_id}@labels.test"
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.db.unit_of_work() as conn:
        result = await conn.execute(
            insert(User).values(
                organization_id=org.organization_id,
                email=email,
                name=name.title(),
                password_hash=password_hash,
                role=OrgRole.MEMBER,
                is_operator=False,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        if role is not None:
            values = {"project_id": org.project_ids[0], "user_id": int(key[0]), "role": role}
            await conn.execute(insert(ProjectMember).values(**values))
    return email


@pytest.fixture
async def board(gql: GraphQLClient, services: Services, make_org: MakeOrg) -> Board:
    org = await make_org()
    emails = [
        await _member(services, org, "editor", ProjectRole.EDITOR),
        await _member(services, org, "viewer", ProjectRole.VIEWER),
        await _member(services, org, "outsider", None),
        org.owner_email,
    ]
    editor, viewer, outsider, owner = [gql.as_user(await gql.login(email)) for email in emails]
    # The seed spreads tasks over the projects in turn: the first task is the first project's.
    return Board(org, org.project_ids[0], org.task_ids[0], editor, viewer, outsider, owner)


async def _counts(services: Services, organization_id: int) -> tuple[int, int, int]:
    """(labels, task-label links, events) of the organization: a refused write leaves all three alone."""
    labels, projects, links = Label.__table__, Project.__table__, TaskLabel.__table__
    org_labels = select(labels.c.id).join(projects, projects.c.id == labels.c.project_id)
    org_labels = org_labels.where(projects.c.organization_id == organization_id)
    async with services.db.read() as conn:
        label_count = await conn.scalar(select(func.count()).where(labels.c.id.in_(org_labels)))
        link_count = await conn.scalar(select(func.count()).where(links.c.label_id.in_(org_labels)))
        event_count = await conn.scalar(
            select(func.count()).where(Event.__table__.c.organization_id == organization_id)
        )
    return int(label_count or 0), int(link_count or 0), int(event_count or 0)


async def _labels_of(services: Services, project_id: int) -> dict[str, int]:
    async with services.db.read() as conn:
        labels = Label.__table__
        rows = (
            await conn.execute(select(labels.c.name, labels.c.id).where(labels.c.project_id == project_id))
        ).all()
    return {row.name: row.id for row in rows}


async def _links(services: Services, task_id: int) -> set[int]:
    async with services.db.read() as conn:
        links = TaskLabel.__table__
        return set((await conn.scalars(select(links.c.label_id).where(links.c.task_id == task_id))).all())


async def _last_event(services: Services, organization_id: int) -> Any:
    events = Event.__table__
    async with services.db.read() as conn:
        statement = (
            select(events)
            .where(events.c.organization_id == organization_id)
            .order_by(events.c.id.desc())
            .limit(1)
        )
        return (await conn.execute(statement)).one()


async def _create(board: Board, name: str = "needs-review", color: str = "#00ff88") -> dict[str, Any]:
    result = await board.editor.run(
        CREATE, {"input": {"projectId": board.project_gid, "name": name, "color": color}}
    )
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["labelCreate"]
    assert payload["errors"] == [], payload
    label: dict[str, Any] = payload["label"]
    return label


def _errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


def _gid(label_id: int) -> str:
    return encode_id("Label", label_id)


# --- labelCreate -------------------------------------------------------------------------------------


async def test_an_editor_creates_a_label_and_the_project_records_it(board: Board, services: Services) -> None:
    # When an editor creates a label (name padded, color in capitals)
    label = await _create(board, name="  Needs review ", color="#00FF88")
    # Then it is stored trimmed and in lower case, and listed with the project's labels
    assert (label["name"], label["color"]) == ("Needs review", "#00ff88")
    assert (await _labels_of(services, board.project_id))["Needs review"] == decode_id(label["id"], "Label")
    # And a label.created event is in the project's sequence
    event = await _last_event(services, board.org.organization_id)
    assert (event.type, event.project_id, event.task_id) == ("label.created", board.project_id, None)
    assert event.payload == {
        "label_id": decode_id(label["id"], "Label"),
        "name": "Needs review",
        "color": "#00ff88",
    }
    assert event.sequence is not None


@pytest.mark.parametrize(
    ("name", "color", "errors"),
    [
        ("  ", "#123456", [("name", "INVALID")]),
        ("x" * 65, "#123456", [("name", "INVALID")]),
        ("ok", "red", [("color", "INVALID")]),
        ("ok", "#12345g", [("color", "INVALID")]),
        ("", "#1234567", [("name", "INVALID"), ("color", "INVALID")]),
    ],
)
async def test_bad_input_is_a_payload_error_and_writes_nothing(
    board: Board, services: Services, name: str, color: str, errors: list[tuple[str, str]]
) -> None:
    before = await _counts(services, board.org.organization_id)
    result = await board.editor.run(
        CREATE, {"input": {"projectId": board.project_gid, "name": name, "color": color}}
    )
    payload = result["data"]["labelCreate"]
    assert (payload["label"], _errors(payload)) == (None, errors)
    assert await _counts(services, board.org.organization_id) == before


async def test_a_name_the_project_has_is_a_conflict_and_writes_nothing(
    board: Board, services: Services
) -> None:
    # Given the project's seeded "bug" label
    before = await _counts(services, board.org.organization_id)
    # When an editor creates another "bug"
    result = await board.editor.run(
        CREATE, {"input": {"projectId": board.project_gid, "name": "bug", "color": "#000000"}}
    )
    # Then the unique index's refusal is a CONFLICT on the name, and nothing is written
    assert _errors(result["data"]["labelCreate"]) == [("name", "CONFLICT")]
    assert await _counts(services, board.org.organization_id) == before


async def test_concurrent_creates_of_one_name_make_one_label(board: Board, services: Services) -> None:
    before = await _counts(services, board.org.organization_id)
    variables = {"input": {"projectId": board.project_gid, "name": "race", "color": "#abcdef"}}
    results = await asyncio.gather(*(board.editor.run(CREATE, variables) for _ in range(6)))
    outcomes = sorted(_errors(r["data"]["labelCreate"]) != [] for r in results)
    assert outcomes == [False] + [True] * 5
    assert all(_errors(r["data"]["labelCreate"]) in ([], [("name", "CONFLICT")]) for r in results)
    labels, links, events = await _counts(services, board.org.organization_id)
    assert (labels, links, events) == (before[0] + 1, before[1], before[2] + 1)


async def test_the_organization_owner_creates_labels_in_any_project(board: Board) -> None:
    result = await board.owner.run(
        CREATE, {"input": {"projectId": board.project_gid, "name": "owner's", "color": "#111111"}}
    )
    assert result["data"]["labelCreate"]["errors"] == []


async def test_a_viewer_cannot_create_and_nothing_changes(board: Board, services: Services) -> None:
    before = await _counts(services, board.org.organization_id)
    # A taken name too: the permission check comes first and tells nothing about the project's labels
    for name in ("new", "bug"):
        result = await board.viewer.run(
            CREATE, {"input": {"projectId": board.project_gid, "name": name, "color": "#000000"}}
        )
        assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    assert await _counts(services, board.org.organization_id) == before


async def test_a_project_one_cannot_see_reads_as_missing(
    board: Board, services: Services, make_org: MakeOrg
) -> None:
    other = await make_org()
    cases = [
        (board.outsider, board.project_gid),
        (board.owner, encode_id("Project", other.project_ids[0])),
        (board.editor, encode_id("Project", 10**12)),
    ]
    for client, project in cases:
        before = (
            await _counts(services, board.org.organization_id),
            await _counts(services, other.organization_id),
        )
        result = await client.run(CREATE, {"input": {"projectId": project, "name": "x", "color": "#000000"}})
        assert _errors(result["data"]["labelCreate"]) == [("projectId", "NOT_FOUND")]
        after = (
            await _counts(services, board.org.organization_id),
            await _counts(services, other.organization_id),
        )
        assert after == before


# --- labelUpdate -------------------------------------------------------------------------------------


async def test_an_editor_renames_and_recolors(board: Board, services: Services) -> None:
    label = await _create(board)
    result = await board.editor.run(
        UPDATE, {"input": {"id": label["id"], "name": "Reviewed", "color": "#AA0000"}}
    )
    assert result["data"]["labelUpdate"] == {
        "label": {"id": label["id"], "name": "Reviewed", "color": "#aa0000"},
        "errors": [],
    }
    # Only what is named changes
    result = await board.editor.run(UPDATE, {"input": {"id": label["id"], "color": "#00aa00"}})
    assert result["data"]["labelUpdate"]["label"] == {
        "id": label["id"],
        "name": "Reviewed",
        "color": "#00aa00",
    }
    event = await _last_event(services, board.org.organization_id)
    assert (event.type, event.project_id) == ("label.updated", board.project_id)
    assert event.payload == {"label_id": decode_id(label["id"], "Label"), "changes": {"color": "#00aa00"}}


async def test_renaming_to_a_taken_name_conflicts_and_changes_nothing(
    board: Board, services: Services
) -> None:
    label = await _create(board)
    before = (
        await _labels_of(services, board.project_id),
        await _counts(services, board.org.organization_id),
    )
    result = await board.editor.run(UPDATE, {"input": {"id": label["id"], "name": "bug"}})
    assert _errors(result["data"]["labelUpdate"]) == [("name", "CONFLICT")]
    after = (await _labels_of(services, board.project_id), await _counts(services, board.org.organization_id))
    assert after == before


async def test_an_update_must_name_a_change(board: Board, services: Services) -> None:
    label = await _create(board)
    before = await _counts(services, board.org.organization_id)
    result = await board.editor.run(UPDATE, {"input": {"id": label["id"]}})
    assert _errors(result["data"]["labelUpdate"]) == [(None, "INVALID")]
    assert await _counts(services, board.org.organization_id) == before


async def test_a_viewer_cannot_update_and_nothing_changes(board: Board, services: Services) -> None:
    label = await _create(board)
    before = (
        await _labels_of(services, board.project_id),
        await _counts(services, board.org.organization_id),
    )
    result = await board.viewer.run(UPDATE, {"input": {"id": label["id"], "name": "viewer's"}})
    assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    after = (await _labels_of(services, board.project_id), await _counts(services, board.org.organization_id))
    assert after == before


async def test_updating_a_label_one_cannot_see_reads_as_missing(
    board: Board, services: Services, make_org: MakeOrg
) -> None:
    other = await make_org()
    foreign = (await _labels_of(services, other.project_ids[0]))["bug"]
    own = (await _labels_of(services, board.project_id))["bug"]
    for client, label_id in [(board.owner, foreign), (board.outsider, own)]:
        before = (
            await _counts(services, board.org.organization_id),
            await _counts(services, other.organization_id),
        )
        result = await client.run(UPDATE, {"input": {"id": _gid(label_id), "name": "mine"}})
        assert _errors(result["data"]["labelUpdate"]) == [("id", "NOT_FOUND")]
        after = (
            await _counts(services, board.org.organization_id),
            await _counts(services, other.organization_id),
        )
        assert after == before


# --- labelDelete -------------------------------------------------------------------------------------


async def test_deleting_a_label_takes_it_off_every_task(board: Board, services: Services) -> None:
    # Given a label on the task
    label = await _create(board)
    label_id = decode_id(label["id"], "Label")
    await board.editor.run(ADD, {"input": {"taskId": board.task_gid, "labelId": label["id"]}})
    assert label_id in await _links(services, board.task_id)
    # When an editor deletes the label
    result = await board.editor.run(DELETE, {"input": {"id": label["id"]}})
    # Then the label and its links are gone, and the project's log says so
    assert result["data"]["labelDelete"] == {"deletedLabelId": label["id"], "errors": []}
    assert label_id not in (await _labels_of(services, board.project_id)).values()
    assert label_id not in await _links(services, board.task_id)
    event = await _last_event(services, board.org.organization_id)
    assert (event.type, event.project_id) == ("label.deleted", board.project_id)
    assert event.payload == {"label_id": label_id, "name": label["name"]}
    # And deleting it again finds nothing
    again = await board.editor.run(DELETE, {"input": {"id": label["id"]}})
    assert _errors(again["data"]["labelDelete"]) == [("id", "NOT_FOUND")]


async def test_a_viewer_cannot_delete_and_nothing_changes(board: Board, services: Services) -> None:
    # Given a seeded label that tasks carry
    label_id = (await _labels_of(services, board.project_id))["bug"]
    before = await _counts(services, board.org.organization_id)
    result = await board.viewer.run(DELETE, {"input": {"id": _gid(label_id)}})
    assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    assert await _counts(services, board.org.organization_id) == before


async def test_deleting_another_organizations_label_reads_as_missing(
    board: Board, services: Services, make_org: MakeOrg
) -> None:
    other = await make_org()
    foreign = (await _labels_of(services, other.project_ids[0]))["bug"]
    before = await _counts(services, other.organization_id)
    result = await board.owner.run(DELETE, {"input": {"id": _gid(foreign)}})
    assert _errors(result["data"]["labelDelete"]) == [("id", "NOT_FOUND")]
    assert await _counts(services, other.organization_id) == before


# --- taskLabelAdd, taskLabelRemove -------------------------------------------------------------------


async def test_adding_a_label_twice_links_it_once(board: Board, services: Services) -> None:
    label = await _create(board)
    label_id = decode_id(label["id"], "Label")
    variables = {"input": {"taskId": board.task_gid, "labelId": label["id"]}}
    # When an editor adds the label
    result = await board.editor.run(ADD, variables)
    payload = result["data"]["taskLabelAdd"]
    # Then the task carries it, and the task's log says so
    assert payload["errors"] == []
    assert {"id": label["id"], "name": label["name"]} in payload["task"]["labels"]
    event = await _last_event(services, board.org.organization_id)
    assert (event.type, event.task_id, event.project_id) == ("task.labelled", board.task_id, board.project_id)
    assert event.payload == {"label_id": label_id, "action": "added"}
    # When it is added again: a success that changes nothing and logs nothing
    before = await _counts(services, board.org.organization_id)
    again = await board.editor.run(ADD, variables)
    assert again["data"]["taskLabelAdd"] == payload
    assert await _counts(services, board.org.organization_id) == before


async def test_removing_a_label_twice_unlinks_it_once(board: Board, services: Services) -> None:
    label = await _create(board)
    variables = {"input": {"taskId": board.task_gid, "labelId": label["id"]}}
    await board.editor.run(ADD, variables)
    result = await board.editor.run(REMOVE, variables)
    payload = result["data"]["taskLabelRemove"]
    assert payload["errors"] == []
    assert label["id"] not in [item["id"] for item in payload["task"]["labels"]]
    event = await _last_event(services, board.org.organization_id)
    assert (event.type, event.task_id) == ("task.labelled", board.task_id)
    assert event.payload == {"label_id": decode_id(label["id"], "Label"), "action": "removed"}
    before = await _counts(services, board.org.organization_id)
    again = await board.editor.run(REMOVE, variables)
    assert again["data"]["taskLabelRemove"] == payload
    assert await _counts(services, board.org.organization_id) == before


@pytest.mark.parametrize("mutation", [ADD, REMOVE])
async def test_a_label_of_another_project_is_invalid(board: Board, services: Services, mutation: str) -> None:
    # Given a label of the organization's second project (visible to the owner)
    elsewhere = (await _labels_of(services, board.org.project_ids[1]))["bug"]
    before = await _counts(services, board.org.organization_id)
    result = await board.owner.run(
        mutation, {"input": {"taskId": board.task_gid, "labelId": _gid(elsewhere)}}
    )
    payload = next(iter(result["data"].values()))
    assert (payload["task"], _errors(payload)) == (None, [("labelId", "INVALID")])
    assert await _counts(services, board.org.organization_id) == before


@pytest.mark.parametrize("mutation", [ADD, REMOVE])
async def test_ids_one_cannot_see_read_as_missing(
    board: Board, services: Services, make_org: MakeOrg, mutation: str
) -> None:
    other = await make_org()
    foreign_label = _gid((await _labels_of(services, other.project_ids[0]))["bug"])
    own_label = _gid((await _labels_of(services, board.project_id))["bug"])
    cases = [
        (board.owner, board.task_gid, foreign_label, "labelId"),
        (board.owner, encode_id("Task", other.task_ids[0]), foreign_label, "taskId"),
        (board.outsider, board.task_gid, own_label, "taskId"),
    ]
    for client, task, label, field in cases:
        before = (
            await _counts(services, board.org.organization_id),
            await _counts(services, other.organization_id),
        )
        result = await client.run(mutation, {"input": {"taskId": task, "labelId": label}})
        assert _errors(next(iter(result["data"].values()))) == [(field, "NOT_FOUND")]
        after = (
            await _counts(services, board.org.organization_id),
            await _counts(services, other.organization_id),
        )
        assert after == before


@pytest.mark.parametrize("mutation", [ADD, REMOVE])
async def test_a_viewer_cannot_label_and_nothing_changes(
    board: Board, services: Services, mutation: str
) -> None:
    label_id = (await _labels_of(services, board.project_id))["bug"]
    links = await _links(services, board.task_id)
    before = await _counts(services, board.org.organization_id)
    result = await board.viewer.run(
        mutation, {"input": {"taskId": board.task_gid, "labelId": _gid(label_id)}}
    )
    assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    assert (await _links(services, board.task_id), await _counts(services, board.org.organization_id)) == (
        links,
        before,
    )


# --- Idempotency-Key and the statement budget ----------------------------------------------------------


_ONCE = {"projectId": "", "name": "once", "color": "#123123"}


async def _create_once(board: Board, services: Services) -> tuple[dict[str, Any], tuple[int, int, int]]:
    """labelCreate with a key: its answer, and the counts just after."""
    variables = {"input": {**_ONCE, "projectId": board.project_gid}}
    first: dict[str, Any] = (
        await board.editor.post(CREATE, variables, **{"idempotency-key": "label-once"})
    ).json()
    assert first["data"]["labelCreate"]["errors"] == [], first
    return first, await _counts(services, board.org.organization_id)


async def _replay_without_redis(board: Board, services: Services) -> dict[str, Any]:
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    variables = {"input": {**_ONCE, "projectId": board.project_gid}}
    body: dict[str, Any] = (
        await board.editor.post(CREATE, variables, **{"idempotency-key": "label-once"})
    ).json()
    return body


async def test_a_replayed_create_returns_the_first_label_and_writes_nothing(
    board: Board, services: Services
) -> None:
    first, counts = await _create_once(board, services)
    variables = {"input": {**_ONCE, "projectId": board.project_gid}}
    replay = await board.editor.post(CREATE, variables, **{"idempotency-key": "label-once"})
    assert replay.json()["data"] == first["data"]
    assert replay.json()["extensions"]["sqlStatements"] == 0
    assert await _counts(services, board.org.organization_id) == counts


async def test_a_replayed_create_that_misses_redis_writes_nothing(board: Board, services: Services) -> None:
    _, counts = await _create_once(board, services)
    await _replay_without_redis(board, services)
    assert await _counts(services, board.org.organization_id) == counts


async def test_a_replayed_create_that_misses_redis_answers_as_the_first_time(
    board: Board, services: Services
) -> None:
    first, _ = await _create_once(board, services)
    assert (await _replay_without_redis(board, services))["data"] == first["data"]


async def test_each_write_stays_within_four_statements_with_every_cache_cold(
    board: Board, services: Services
) -> None:
    label = await _create(board)
    link = {"taskId": board.task_gid, "labelId": label["id"]}
    writes = [
        (CREATE, {"input": {"projectId": board.project_gid, "name": "budget", "color": "#010101"}}),
        (UPDATE, {"input": {"id": label["id"], "name": "budget, renamed", "color": "#020202"}}),
        (ADD, {"input": link}),
        (ADD, {"input": link}),  # the no-op
        (REMOVE, {"input": link}),
        (REMOVE, {"input": link}),  # the no-op
        (ADD, {"input": link}),
        (DELETE, {"input": {"id": label["id"]}}),  # with a link to remove too
    ]
    for number, (mutation, variables) in enumerate(writes):
        await services.cache.redis.flushdb()
        response = await board.editor.post(
            mutation, variables, **{"idempotency-key": f"label-budget-{number}"}
        )
        body = response.json()
        assert "errors" not in body, body
        assert all(not payload["errors"] for payload in body["data"].values()), body
        assert body["extensions"]["sqlStatements"] <= 4, (mutation, body)
