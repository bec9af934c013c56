"""Task writes: each mutation's success, its expected failures in the payload, permission failures at
the top, nothing written by a refused write, optimistic concurrency, idempotent replays, events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select

from persistence.enums import OrgRole, ProjectRole
from persistence.models import Event, ProjectMember, Task, User
from persistence.pubsub import project_channel
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import decode_id, encode_id
from tests import services as test_services
from tests.conftest import PASSWORD, GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

CREATE = """
mutation($input: TaskCreateInput!) {
  taskCreate(input: $input) {
    task { id key number title status priority version reporter { id } assignee { id } project { id } }
    errors { field code message }
  }
}"""
UPDATE = """
mutation($input: TaskUpdateInput!) {
  taskUpdate(input: $input) { task { id title priority version dueDate } errors { field code message } }
}"""
MOVE = """
mutation($input: TaskMoveInput!) {
  taskMove(input: $input) { task { id status position version completedAt } errors { field code message } }
}"""
ASSIGN = """
mutation($input: TaskAssignInput!) {
  taskAssign(input: $input) { task { id version assignee { id } } errors { field code message } }
}"""
DELETE = """
mutation($input: TaskDeleteInput!) {
  taskDelete(input: $input) { deletedTaskId errors { field code message } }
}"""


@dataclass
class Board:
    """An organization whose first project has an editor, a viewer and an outsider (in the org only)."""

    org: SeededOrganization
    project_id: int
    editor: GraphQLClient
    editor_id: int
    viewer: GraphQLClient
    outsider_id: int


async def _user(services: Services, org: SeededOrganization, name: str) -> tuple[int, str]:
    password_hash = await services.passwords.hash(PASSWORD)
    email = f"{name}-{org.organization_id}@writes.test"
    async with services.db.unit_of_work() as conn:
        values = {
            "organization_id": org.organization_id,
            "email": email,
            "name": name.title(),
            "password_hash": password_hash,
            "role": OrgRole.MEMBER,
            "is_operator": False,
        }
        result = await conn.execute(insert(User).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0]), email


@pytest.fixture
async def board(gql: GraphQLClient, services: Services, make_org: MakeOrg) -> Board:
    org = await make_org()
    project_id = org.project_ids[0]
    editor_id, editor_email = await _user(services, org, "editor")
    viewer_id, viewer_email = await _user(services, org, "viewer")
    outsider_id, _ = await _user(services, org, "outsider")
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            insert(ProjectMember),
            [
                {"project_id": project_id, "user_id": editor_id, "role": ProjectRole.EDITOR},
                {"project_id": project_id, "user_id": viewer_id, "role": ProjectRole.VIEWER},
            ],
        )
    editor = gql.as_user(await gql.login(editor_email))
    viewer = gql.as_user(await gql.login(viewer_email))
    return Board(org, project_id, editor, editor_id, viewer, outsider_id)


async def _counts(services: Services, organization_id: int) -> tuple[int, int, int]:
    """(tasks, live tasks, events) of the organization: a refused write leaves all three alone."""
    async with services.db.read() as conn:
        tasks = Task.__table__
        total = await conn.scalar(select(func.count()).where(tasks.c.organization_id == organization_id))
        live = await conn.scalar(
            select(func.count()).where(
                tasks.c.organization_id == organization_id, tasks.c.deleted_at.is_(None)
            )
        )
        events = await conn.scalar(
            select(func.count()).where(Event.__table__.c.organization_id == organization_id)
        )
    return int(total or 0), int(live or 0), int(events or 0)


async def _task_row(services: Services, task_id: int) -> Any:
    async with services.db.read() as conn:
        return (await conn.execute(select(Task.__table__).where(Task.__table__.c.id == task_id))).one()


def _create_input(board: Board, **overrides: Any) -> dict[str, Any]:
    return {"projectId": encode_id("Project", board.project_id), "title": "Write the docs", **overrides}


async def _create(board: Board, **overrides: Any) -> dict[str, Any]:
    body = await board.editor.run(CREATE, {"input": _create_input(board, **overrides)})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["taskCreate"]
    assert payload["errors"] == [], payload
    task: dict[str, Any] = payload["task"]
    return task


def _db_id(global_id: str) -> int:
    return decode_id(global_id, "Task")


# --- taskCreate ------------------------------------------------------------------------------------


async def test_create_numbers_the_task_and_records_its_event(board: Board, services: Services) -> None:
    # Given the project's highest task number and event sequence
    async with services.db.read() as conn:
        tasks, events = Task.__table__, Event.__table__
        highest = await conn.scalar(
            select(func.max(tasks.c.number)).where(tasks.c.project_id == board.project_id)
        )
        sequence = await conn.scalar(
            select(func.max(events.c.sequence)).where(events.c.project_id == board.project_id)
        )
    # When an editor creates a task
    task = await _create(board, priority=3, assigneeId=encode_id("User", board.editor_id))
    # Then it takes the next number, starts at version 1, and names its reporter
    assert task["number"] == highest + 1
    assert task["key"].endswith(f"-{highest + 1}")
    assert task["version"] == 1
    assert task["priority"] == 3
    assert task["status"] == "TODO"
    assert task["reporter"]["id"] == encode_id("User", board.editor_id)
    assert task["assignee"]["id"] == encode_id("User", board.editor_id)
    # And its event follows the project's last sequence without a gap
    async with services.db.read() as conn:
        event = (await conn.execute(select(events).where(events.c.task_id == _db_id(task["id"])))).one()
    assert event.type == "task.created"
    assert event.sequence == sequence + 1
    assert event.actor_id == board.editor_id


async def test_create_publishes_the_event_after_commit(board: Board, services: Services) -> None:
    # Given a subscriber on the project's channel
    pubsub = services.cache.redis.pubsub()
    await pubsub.subscribe(project_channel(test_services.CHANNEL_PREFIX, board.project_id))
    await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    try:
        # When a task is created
        task = await _create(board)
        # Then the relay publishes its event within a moment
        message = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                break
        assert message is not None
        event = orjson.loads(message["data"])
        assert event["type"] == "task.created"
        assert event["task_id"] == _db_id(task["id"])
        assert event["project_id"] == board.project_id
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"title": "   "}, "title", "INVALID"),
        ({"title": "x" * 501}, "title", "INVALID"),
        ({"priority": 7}, "priority", "INVALID"),
        ({"projectId": encode_id("Project", 10**12)}, "projectId", "NOT_FOUND"),
        ({"parentId": encode_id("Task", 10**12)}, "parentId", "INVALID"),
    ],
)
async def test_create_reports_bad_input_in_the_payload_and_writes_nothing(
    board: Board, services: Services, overrides: dict[str, Any], field: str, code: str
) -> None:
    before = await _counts(services, board.org.organization_id)
    body = await board.editor.run(CREATE, {"input": _create_input(board, **overrides)})
    assert "errors" not in body, body
    payload = body["data"]["taskCreate"]
    assert payload["task"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert await _counts(services, board.org.organization_id) == before


async def test_create_refuses_an_assignee_who_cannot_see_the_project(
    board: Board, services: Services
) -> None:
    before = await _counts(services, board.org.organization_id)
    body = await board.editor.run(
        CREATE, {"input": _create_input(board, assigneeId=encode_id("User", board.outsider_id))}
    )
    assert [(e["field"], e["code"]) for e in body["data"]["taskCreate"]["errors"]] == [
        ("assigneeId", "INVALID")
    ]
    assert await _counts(services, board.org.organization_id) == before


async def test_a_viewer_cannot_create_and_nothing_changes(board: Board, services: Services) -> None:
    before = await _counts(services, board.org.organization_id)
    body = await board.viewer.run(CREATE, {"input": _create_input(board)})
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await _counts(services, board.org.organization_id) == before


async def test_another_organizations_project_reads_as_missing(
    board: Board, services: Services, make_org: MakeOrg
) -> None:
    other = await make_org()
    before = await _counts(services, other.organization_id)
    body = await board.editor.run(
        CREATE, {"input": _create_input(board, projectId=encode_id("Project", other.project_ids[0]))}
    )
    assert [(e["field"], e["code"]) for e in body["data"]["taskCreate"]["errors"]] == [
        ("projectId", "NOT_FOUND")
    ]
    assert await _counts(services, other.organization_id) == before


# --- taskUpdate, taskMove, taskAssign, taskDelete ----------------------------------------------------


async def test_update_changes_what_is_named_and_bumps_the_version(board: Board, services: Services) -> None:
    task = await _create(board, priority=1)
    body = await board.editor.run(
        UPDATE, {"input": {"id": task["id"], "version": 1, "title": "Renamed", "dueDate": "2031-01-02"}}
    )
    updated = body["data"]["taskUpdate"]
    assert updated["errors"] == []
    assert updated["task"] == {
        "id": task["id"],
        "title": "Renamed",
        "priority": 1,
        "version": 2,
        "dueDate": "2031-01-02",
    }
    # null clears the due date; the omitted title stays
    body = await board.editor.run(UPDATE, {"input": {"id": task["id"], "version": 2, "dueDate": None}})
    assert body["data"]["taskUpdate"]["task"]["dueDate"] is None
    assert body["data"]["taskUpdate"]["task"]["title"] == "Renamed"


async def test_a_stale_version_conflicts_and_shows_the_current_task(board: Board, services: Services) -> None:
    # Given a task someone else already changed (version 2)
    task = await _create(board)
    await board.editor.run(UPDATE, {"input": {"id": task["id"], "version": 1, "title": "First edit"}})
    before = await _task_row(services, _db_id(task["id"]))
    # When an editor writes with the version they read earlier
    body = await board.editor.run(UPDATE, {"input": {"id": task["id"], "version": 1, "title": "Second edit"}})
    payload = body["data"]["taskUpdate"]
    # Then nothing is overwritten: a CONFLICT with the task as it is now
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("version", "CONFLICT")]
    assert payload["task"]["title"] == "First edit"
    assert payload["task"]["version"] == 2
    assert await _task_row(services, _db_id(task["id"])) == before


async def test_move_sets_status_position_and_completion(board: Board) -> None:
    task = await _create(board)
    body = await board.editor.run(
        MOVE, {"input": {"id": task["id"], "version": 1, "status": "DONE", "position": 1.5}}
    )
    moved = body["data"]["taskMove"]["task"]
    assert (moved["status"], moved["position"], moved["version"]) == ("DONE", 1.5, 2)
    assert moved["completedAt"] is not None
    body = await board.editor.run(MOVE, {"input": {"id": task["id"], "version": 2, "status": "TODO"}})
    assert body["data"]["taskMove"]["task"]["completedAt"] is None


async def test_assign_checks_the_assignee(board: Board, services: Services) -> None:
    task = await _create(board)
    body = await board.editor.run(
        ASSIGN, {"input": {"id": task["id"], "version": 1, "assigneeId": encode_id("User", board.editor_id)}}
    )
    assert body["data"]["taskAssign"]["task"]["assignee"]["id"] == encode_id("User", board.editor_id)
    before = await _task_row(services, _db_id(task["id"]))
    body = await board.editor.run(
        ASSIGN,
        {"input": {"id": task["id"], "version": 2, "assigneeId": encode_id("User", board.outsider_id)}},
    )
    assert [(e["field"], e["code"]) for e in body["data"]["taskAssign"]["errors"]] == [
        ("assigneeId", "INVALID")
    ]
    assert await _task_row(services, _db_id(task["id"])) == before
    body = await board.editor.run(ASSIGN, {"input": {"id": task["id"], "version": 2, "assigneeId": None}})
    assert body["data"]["taskAssign"]["task"]["assignee"] is None


async def test_a_member_of_another_project_cannot_be_assigned(board: Board, services: Services) -> None:
    # Given the outsider belongs to another project of the organization, not to the board's
    other_project = next(p for p in board.org.project_ids if p != board.project_id)
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            insert(ProjectMember).values(
                project_id=other_project, user_id=board.outsider_id, role=ProjectRole.EDITOR
            )
        )
    outsider = encode_id("User", board.outsider_id)
    task = await _create(board)
    before = await _counts(services, board.org.organization_id)
    # When the editor creates a task for them, or assigns one to them, both are refused
    created = await board.editor.run(CREATE, {"input": _create_input(board, assigneeId=outsider)})
    assigned = await board.editor.run(
        ASSIGN, {"input": {"id": task["id"], "version": 1, "assigneeId": outsider}}
    )
    assert [(e["field"], e["code"]) for e in created["data"]["taskCreate"]["errors"]] == [
        ("assigneeId", "INVALID")
    ]
    assert [(e["field"], e["code"]) for e in assigned["data"]["taskAssign"]["errors"]] == [
        ("assigneeId", "INVALID")
    ]
    assert await _counts(services, board.org.organization_id) == before


async def test_delete_is_soft_and_hides_the_task(board: Board, services: Services) -> None:
    task = await _create(board)
    body = await board.editor.run(DELETE, {"input": {"id": task["id"], "version": 1}})
    assert body["data"]["taskDelete"] == {"deletedTaskId": task["id"], "errors": []}
    assert (await _task_row(services, _db_id(task["id"]))).deleted_at is not None
    read = await board.editor.run("query($id: ID!) { task(id: $id) { id } }", {"id": task["id"]})
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    again = await board.editor.run(DELETE, {"input": {"id": task["id"], "version": 2}})
    assert [(e["field"], e["code"]) for e in again["data"]["taskDelete"]["errors"]] == [("id", "NOT_FOUND")]


@pytest.mark.parametrize(
    ("mutation", "extra"),
    [(UPDATE, {"title": "nope"}), (MOVE, {"status": "DONE"}), (ASSIGN, {"assigneeId": None}), (DELETE, {})],
)
async def test_a_viewer_cannot_change_a_task_and_nothing_changes(
    board: Board, services: Services, mutation: str, extra: dict[str, Any]
) -> None:
    task = await _create(board)
    before = (
        await _task_row(services, _db_id(task["id"])),
        await _counts(services, board.org.organization_id),
    )
    body = await board.viewer.run(mutation, {"input": {"id": task["id"], "version": 1, **extra}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    after = (
        await _task_row(services, _db_id(task["id"])),
        await _counts(services, board.org.organization_id),
    )
    assert after == before


# --- Idempotency-Key ---------------------------------------------------------------------------------


async def test_a_replayed_key_returns_the_first_answer_and_writes_nothing(
    board: Board, services: Services
) -> None:
    variables = {"input": _create_input(board, title="Once only")}
    first = await board.editor.post(CREATE, variables, **{"idempotency-key": "create-once"})
    counts = await _counts(services, board.org.organization_id)
    replay = await board.editor.post(CREATE, variables, **{"idempotency-key": "create-once"})
    assert replay.status_code == first.status_code == 200
    assert replay.json()["data"] == first.json()["data"]
    assert replay.json()["extensions"]["sqlStatements"] == 0
    assert await _counts(services, board.org.organization_id) == counts


async def test_a_replay_that_misses_redis_still_writes_nothing(board: Board, services: Services) -> None:
    variables = {"input": _create_input(board, title="Once, even without Redis")}
    first = (await board.editor.post(CREATE, variables, **{"idempotency-key": "no-redis"})).json()
    counts = await _counts(services, board.org.organization_id)
    # Redis lost the answer (evicted, restarted): the database's unique key still refuses a second write
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    replay = (await board.editor.post(CREATE, variables, **{"idempotency-key": "no-redis"})).json()
    assert replay["data"]["taskCreate"]["task"]["id"] == first["data"]["taskCreate"]["task"]["id"]
    assert await _counts(services, board.org.organization_id) == counts


async def test_an_update_replayed_after_redis_lost_it_answers_as_the_first_time(
    board: Board, services: Services
) -> None:
    # Given an update that committed (the task moved on to version 2) and Redis losing its answer
    task = await _create(board)
    variables = {"input": {"id": task["id"], "version": 1, "title": "Only once"}}
    first = (await board.editor.post(UPDATE, variables, **{"idempotency-key": "update-once"})).json()
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    counts = await _counts(services, board.org.organization_id)
    # When the client retries with the same key and its (now stale) version
    replay = (await board.editor.post(UPDATE, variables, **{"idempotency-key": "update-once"})).json()
    # Then it gets the first answer's outcome, not a CONFLICT, and nothing is written
    assert replay["data"]["taskUpdate"]["errors"] == []
    assert replay["data"]["taskUpdate"]["task"]["id"] == first["data"]["taskUpdate"]["task"]["id"]
    assert await _counts(services, board.org.organization_id) == counts


async def test_a_key_reused_with_other_input_is_refused(board: Board, services: Services) -> None:
    await board.editor.post(CREATE, {"input": _create_input(board, title="A")}, **{"idempotency-key": "k1"})
    counts = await _counts(services, board.org.organization_id)
    response = await board.editor.post(
        CREATE, {"input": _create_input(board, title="B")}, **{"idempotency-key": "k1"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await _counts(services, board.org.organization_id) == counts


async def test_keys_are_scoped_to_the_user(board: Board, gql: GraphQLClient, services: Services) -> None:
    # Given the editor used a key; when the owner uses the same key, it is the owner's own first use
    variables = {"input": _create_input(board, title="Mine")}
    await board.editor.post(CREATE, variables, **{"idempotency-key": "shared-key"})
    owner = gql.as_user(await gql.login(board.org.owner_email))
    counts = await _counts(services, board.org.organization_id)
    body = (await owner.post(CREATE, variables, **{"idempotency-key": "shared-key"})).json()
    assert body["data"]["taskCreate"]["errors"] == []
    assert (await _counts(services, board.org.organization_id))[0] == counts[0] + 1


# --- the statement budget and races ------------------------------------------------------------------


async def test_each_write_sends_its_statements_with_every_cache_cold(
    board: Board, services: Services
) -> None:
    # The session's read, the write (its checks inside), its event, and the payload's task in one read
    # (the compiled engine's task(id:) statement); a delete has no task to read back.
    task = await _create(board)
    writes = [
        (CREATE, {"input": _create_input(board, assigneeId=encode_id("User", board.editor_id))}, 4),
        (UPDATE, {"input": {"id": task["id"], "version": 1, "title": "t", "priority": 2}}, 4),
        (MOVE, {"input": {"id": task["id"], "version": 2, "status": "IN_PROGRESS", "position": 3.0}}, 4),
        (
            ASSIGN,
            {"input": {"id": task["id"], "version": 3, "assigneeId": encode_id("User", board.editor_id)}},
            4,
        ),
        (DELETE, {"input": {"id": task["id"], "version": 4}}, 3),
    ]
    for number, (mutation, variables, statements) in enumerate(writes):
        await services.cache.redis.flushdb()
        response = await board.editor.post(mutation, variables, **{"idempotency-key": f"budget-{number}"})
        body = response.json()
        assert "errors" not in body, body
        assert body["extensions"]["sqlStatements"] == statements, (mutation, body)


async def test_concurrent_creates_get_distinct_numbers_and_gapless_sequences(
    board: Board, services: Services
) -> None:
    async with services.db.read() as conn:
        events = Event.__table__
        start = await conn.scalar(
            select(func.max(events.c.sequence)).where(events.c.project_id == board.project_id)
        )
    tasks = await asyncio.gather(*(_create(board, title=f"race {n}") for n in range(12)))
    assert len({t["number"] for t in tasks}) == 12
    async with services.db.read() as conn:
        sequences = (
            await conn.scalars(
                select(events.c.sequence)
                .where(events.c.project_id == board.project_id, events.c.sequence > start)
                .order_by(events.c.sequence)
            )
        ).all()
    assert list(sequences) == list(range(start + 1, start + 13))
