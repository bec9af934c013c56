"""Comment writes: create, update, delete. Each one's success and event, its expected failures in the
payload, permission failures at the top, nothing written by a refused write, idempotent replays, and
the statement budget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from persistence.enums import OrgRole, ProjectRole
from persistence.models import Comment, Event, ProjectMember, Task, User
from persistence.models.base import utcnow
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import decode_id, encode_id
from tests.conftest import PASSWORD, GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

CREATE = """
mutation($input: CommentCreateInput!) {
  commentCreate(input: $input) {
    comment { id body createdAt updatedAt author { id } }
    errors { field code message }
  }
}"""
UPDATE = """
mutation($input: CommentUpdateInput!) {
  commentUpdate(input: $input) { comment { id body author { id } } errors { field code message } }
}"""
DELETE = """
mutation($input: CommentDeleteInput!) {
  commentDelete(input: $input) { deletedCommentId errors { field code message } }
}"""
TASK_COMMENTS = """
query($id: ID!) { task(id: $id) { comments(first: 100) { nodes { id body } } } }"""


@dataclass
class Team:
    """An organization whose first project has two editors (the author and a colleague), a viewer
    and an admin (all plain members of the organization), beside the seeded owner."""

    org: SeededOrganization
    project_id: int
    task_id: int
    clients: dict[str, GraphQLClient]
    user_ids: dict[str, int]

    @property
    def author(self) -> GraphQLClient:
        return self.clients["author"]

    def task_gid(self) -> str:
        return encode_id("Task", self.task_id)


async def _member(services: Services, org: SeededOrganization, name: str, role: ProjectRole | None) -> int:
    """A plain member of the organization; in the first project with ``role`` unless it is None."""
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.db.unit_of_work() as conn:
        result = await conn.execute(
            insert(User).values(
                organization_id=org.organization_id,
                email=f"{name}-{org.organization_id}@comments.test",
                name=name.title(),
                password_hash=password_hash,
                role=OrgRole.MEMBER,
                is_operator=False,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        user_id = int(key[0])
        if role is not None:
            values = {"project_id": org.project_ids[0], "user_id": user_id, "role": role}
            await conn.execute(insert(ProjectMember).values(**values))
    return user_id


@pytest.fixture
async def team(gql: GraphQLClient, services: Services, make_org: MakeOrg) -> Team:
    org = await make_org()
    roles = {
        "author": ProjectRole.EDITOR,
        "colleague": ProjectRole.EDITOR,
        "viewer": ProjectRole.VIEWER,
        "admin": ProjectRole.ADMIN,
        "outsider": None,
    }
    user_ids = {name: await _member(services, org, name, role) for name, role in roles.items()}
    clients = {
        name: gql.as_user(await gql.login(f"{name}-{org.organization_id}@comments.test")) for name in roles
    }
    clients["owner"] = gql.as_user(await gql.login(org.owner_email))
    # The seed spreads tasks over the projects in turn: the first task is the first project's.
    return Team(org, org.project_ids[0], org.task_ids[0], clients, user_ids)


async def _counts(services: Services, organization_id: int) -> tuple[int, int, int]:
    """(comments, live comments, events) of the organization: a refused write leaves all three alone."""
    comments, tasks, events = Comment.__table__, Task.__table__, Event.__table__
    of_org = comments.join(tasks, tasks.c.id == comments.c.task_id)
    in_org = tasks.c.organization_id == organization_id
    async with services.db.read() as conn:
        total = await conn.scalar(select(func.count()).select_from(of_org).where(in_org))
        live = await conn.scalar(
            select(func.count()).select_from(of_org).where(in_org, comments.c.deleted_at.is_(None))
        )
        logged = await conn.scalar(select(func.count()).where(events.c.organization_id == organization_id))
    return int(total or 0), int(live or 0), int(logged or 0)


async def _comment_row(services: Services, comment_id: int) -> Any:
    async with services.db.read() as conn:
        table = Comment.__table__
        return (await conn.execute(select(table).where(table.c.id == comment_id))).one()


async def _last_event(services: Services, task_id: int) -> Any:
    events = Event.__table__
    async with services.db.read() as conn:
        statement = select(events).where(events.c.task_id == task_id).order_by(events.c.id.desc()).limit(1)
        return (await conn.execute(statement)).one()


async def _comment(
    team: Team, client: GraphQLClient | None = None, body: str = "Looks good"
) -> dict[str, Any]:
    variables = {"input": {"taskId": team.task_gid(), "body": body}}
    result = await (client or team.author).run(CREATE, variables)
    assert "errors" not in result, result
    payload: dict[str, Any] = result["data"]["commentCreate"]
    assert payload["errors"] == [], payload
    comment: dict[str, Any] = payload["comment"]
    return comment


async def _a_comment_of(services: Services, org: SeededOrganization) -> int:
    """One of the comments the seed wrote in ``org``."""
    async with services.db.read() as conn:
        comments = Comment.__table__
        statement = select(comments.c.id).where(comments.c.task_id.in_(org.task_ids)).limit(1)
        return int((await conn.execute(statement)).scalar_one())


def _db_id(global_id: str) -> int:
    return decode_id(global_id, "Comment")


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


def _payload_errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


# --- commentCreate -----------------------------------------------------------------------------------


async def test_an_editor_comments_and_the_task_records_it(team: Team, services: Services) -> None:
    # Given the project's last event sequence
    events = Event.__table__
    async with services.db.read() as conn:
        sequence = await conn.scalar(
            select(func.max(events.c.sequence)).where(events.c.project_id == team.project_id)
        )
    # When an editor comments (with whitespace around the text)
    comment = await _comment(team, body="  Ship it.\n")
    # Then the comment is trimmed, authored by them, and listed on the task
    assert comment["body"] == "Ship it."
    assert comment["author"]["id"] == encode_id("User", team.user_ids["author"])
    listed = await team.author.run(TASK_COMMENTS, {"id": team.task_gid()})
    assert comment["id"] in [node["id"] for node in listed["data"]["task"]["comments"]["nodes"]]
    # And a task.commented event follows the project's sequence without a gap
    event = await _last_event(services, team.task_id)
    assert (event.type, event.actor_id) == ("task.commented", team.user_ids["author"])
    assert event.payload == {"comment_id": _db_id(comment["id"]), "action": "created"}
    assert (event.project_id, event.sequence) == (team.project_id, sequence + 1)


async def test_the_organization_owner_may_comment_without_being_a_member(team: Team) -> None:
    comment = await _comment(team, team.clients["owner"])
    assert comment["author"]["id"] == encode_id("User", team.org.user_ids[0])


@pytest.mark.parametrize("body", ["", "   \n\t", "x" * 10_001])
async def test_a_bad_body_is_a_payload_error_and_writes_nothing(
    team: Team, services: Services, body: str
) -> None:
    before = await _counts(services, team.org.organization_id)
    result = await team.author.run(CREATE, {"input": {"taskId": team.task_gid(), "body": body}})
    payload = result["data"]["commentCreate"]
    assert (payload["comment"], _payload_errors(payload)) == (None, [("body", "INVALID")])
    assert await _counts(services, team.org.organization_id) == before


async def test_the_longest_body_is_accepted(team: Team) -> None:
    comment = await _comment(team, body="y" * 10_000)
    assert len(comment["body"]) == 10_000


async def test_a_viewer_cannot_comment_and_nothing_changes(team: Team, services: Services) -> None:
    before = await _counts(services, team.org.organization_id)
    result = await team.clients["viewer"].run(CREATE, {"input": {"taskId": team.task_gid(), "body": "hi"}})
    assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    assert await _counts(services, team.org.organization_id) == before


@pytest.mark.parametrize("who", ["outsider", "author"])
async def test_a_task_one_cannot_see_or_that_is_gone_reads_as_missing(
    team: Team, services: Services, make_org: MakeOrg, who: str
) -> None:
    # Given a task of another organization, and for the author a deleted task of their own project
    other = await make_org()
    targets = [other.task_ids[0]]
    if who == "author":
        targets.append(team.org.task_ids[3])
        async with services.db.unit_of_work() as conn:
            await conn.execute(update(Task).where(Task.id == targets[1]).values(deleted_at=utcnow()))
    else:
        # The outsider is in the organization but not in the project: its tasks are hidden
        targets.append(team.task_id)
    for task_id in targets:
        before = (
            await _counts(services, team.org.organization_id),
            await _counts(services, other.organization_id),
        )
        # When they comment on it
        result = await team.clients[who].run(
            CREATE, {"input": {"taskId": encode_id("Task", task_id), "body": "?"}}
        )
        # Then the payload says NOT_FOUND and nothing is written anywhere
        assert _payload_errors(result["data"]["commentCreate"]) == [("taskId", "NOT_FOUND")]
        after = (
            await _counts(services, team.org.organization_id),
            await _counts(services, other.organization_id),
        )
        assert after == before


# --- commentUpdate -----------------------------------------------------------------------------------


async def test_the_author_edits_a_comment(team: Team, services: Services) -> None:
    comment = await _comment(team)
    result = await team.author.run(UPDATE, {"input": {"id": comment["id"], "body": " Edited "}})
    payload = result["data"]["commentUpdate"]
    assert payload == {
        "comment": {"id": comment["id"], "body": "Edited", "author": {"id": comment["author"]["id"]}},
        "errors": [],
    }
    row = await _comment_row(services, _db_id(comment["id"]))
    assert row.updated_at >= row.created_at
    event = await _last_event(services, team.task_id)
    assert event.type == "task.commented"
    assert event.payload == {"comment_id": _db_id(comment["id"]), "action": "updated"}


@pytest.mark.parametrize("who", ["colleague", "admin", "owner", "viewer"])
async def test_only_the_author_may_edit_and_a_refusal_changes_nothing(
    team: Team, services: Services, who: str
) -> None:
    # Given the author's comment
    comment = await _comment(team)
    before = (
        await _comment_row(services, _db_id(comment["id"])),
        await _counts(services, team.org.organization_id),
    )
    # When anyone else edits it, a project admin or the organization's owner included
    result = await team.clients[who].run(UPDATE, {"input": {"id": comment["id"], "body": "mine now"}})
    # Then FORBIDDEN, and the comment and the log are as they were
    assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    after = (
        await _comment_row(services, _db_id(comment["id"])),
        await _counts(services, team.org.organization_id),
    )
    assert after == before


async def test_an_author_demoted_to_viewer_can_no_longer_edit(team: Team, services: Services) -> None:
    comment = await _comment(team)
    async with services.db.unit_of_work() as conn:
        demote = update(ProjectMember).where(ProjectMember.user_id == team.user_ids["author"])
        await conn.execute(demote.values(role=ProjectRole.VIEWER))
    result = await team.author.run(UPDATE, {"input": {"id": comment["id"], "body": "late edit"}})
    assert _codes(result) == ["FORBIDDEN"]
    assert (await _comment_row(services, _db_id(comment["id"]))).body == "Looks good"


async def test_editing_a_hidden_missing_or_deleted_comment_reads_as_missing(
    team: Team, services: Services, make_org: MakeOrg
) -> None:
    # Given a comment of another organization, a deleted comment, and a comment on a hidden task
    other = await make_org()
    foreign = await _a_comment_of(services, other)
    deleted = await _comment(team)
    await team.author.run(DELETE, {"input": {"id": deleted["id"]}})
    hidden = await _comment(team)
    cases = [
        (encode_id("Comment", foreign), team.author),
        (deleted["id"], team.author),
        (encode_id("Comment", 10**12), team.author),
        # The outsider is in the organization, not in the project
        (hidden["id"], team.clients["outsider"]),
    ]
    for target, client in cases:
        before = await _counts(services, team.org.organization_id)
        # When the caller edits it
        result = await client.run(UPDATE, {"input": {"id": target, "body": "x"}})
        # Then NOT_FOUND in the payload, nothing written
        payload = result["data"]["commentUpdate"]
        assert (payload["comment"], _payload_errors(payload)) == (None, [("id", "NOT_FOUND")])
        assert await _counts(services, team.org.organization_id) == before


async def test_an_edit_with_a_bad_body_writes_nothing(team: Team, services: Services) -> None:
    comment = await _comment(team)
    before = await _counts(services, team.org.organization_id)
    result = await team.author.run(UPDATE, {"input": {"id": comment["id"], "body": " "}})
    assert _payload_errors(result["data"]["commentUpdate"]) == [("body", "INVALID")]
    assert await _counts(services, team.org.organization_id) == before


# --- commentDelete -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "admin", "owner"])
async def test_the_author_or_an_admin_deletes_softly(team: Team, services: Services, who: str) -> None:
    # Given the author's comment
    comment = await _comment(team)
    # When the author, the project's admin or the organization's owner deletes it
    result = await team.clients[who].run(DELETE, {"input": {"id": comment["id"]}})
    # Then it is gone from the task but its row stays, and the task's log says so
    assert result["data"]["commentDelete"] == {"deletedCommentId": comment["id"], "errors": []}
    assert (await _comment_row(services, _db_id(comment["id"]))).deleted_at is not None
    listed = await team.author.run(TASK_COMMENTS, {"id": team.task_gid()})
    assert comment["id"] not in [node["id"] for node in listed["data"]["task"]["comments"]["nodes"]]
    event = await _last_event(services, team.task_id)
    assert (event.type, event.actor_id) == ("task.commented", team.user_ids.get(who, team.org.user_ids[0]))
    assert event.payload == {"comment_id": _db_id(comment["id"]), "action": "deleted"}
    # And a second delete finds nothing
    again = await team.author.run(DELETE, {"input": {"id": comment["id"]}})
    assert _payload_errors(again["data"]["commentDelete"]) == [("id", "NOT_FOUND")]


@pytest.mark.parametrize("who", ["colleague", "viewer"])
async def test_others_cannot_delete_and_nothing_changes(team: Team, services: Services, who: str) -> None:
    comment = await _comment(team)
    before = (
        await _comment_row(services, _db_id(comment["id"])),
        await _counts(services, team.org.organization_id),
    )
    result = await team.clients[who].run(DELETE, {"input": {"id": comment["id"]}})
    assert (result["data"], _codes(result)) == (None, ["FORBIDDEN"])
    after = (
        await _comment_row(services, _db_id(comment["id"])),
        await _counts(services, team.org.organization_id),
    )
    assert after == before


async def test_deleting_another_organizations_comment_reads_as_missing(
    team: Team, services: Services, make_org: MakeOrg
) -> None:
    other = await make_org()
    foreign = await _a_comment_of(services, other)
    before = await _counts(services, other.organization_id)
    result = await team.clients["owner"].run(DELETE, {"input": {"id": encode_id("Comment", foreign)}})
    assert _payload_errors(result["data"]["commentDelete"]) == [("id", "NOT_FOUND")]
    assert await _counts(services, other.organization_id) == before


# --- Idempotency-Key and the statement budget ----------------------------------------------------------


async def test_a_replayed_create_returns_the_first_comment_and_writes_nothing(
    team: Team, services: Services
) -> None:
    # Given a comment created with a key
    variables = {"input": {"taskId": team.task_gid(), "body": "Once"}}
    first = (await team.author.post(CREATE, variables, **{"idempotency-key": "comment-once"})).json()
    counts = await _counts(services, team.org.organization_id)
    # When the same request comes again, first with the answer in Redis, then with Redis emptied
    replay = await team.author.post(CREATE, variables, **{"idempotency-key": "comment-once"})
    assert replay.json()["data"] == first["data"]
    assert replay.json()["extensions"]["sqlStatements"] == 0
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    again = (await team.author.post(CREATE, variables, **{"idempotency-key": "comment-once"})).json()
    # Then both answer with the first comment, and the database's unique key kept a second one out
    assert again["data"] == first["data"]
    assert await _counts(services, team.org.organization_id) == counts


async def _delete_then_replay_without_redis(team: Team, services: Services) -> tuple[Any, Any, Any, Any]:
    """Deletes a comment with a key, empties Redis's answers, replays; the two answers and the counts."""
    comment = await _comment(team)
    variables = {"input": {"id": comment["id"]}}
    first = (await team.author.post(DELETE, variables, **{"idempotency-key": "delete-once"})).json()
    counts = await _counts(services, team.org.organization_id)
    for key in await services.cache.redis.keys("idempotency:*"):
        await services.cache.redis.delete(key)
    replay = (await team.author.post(DELETE, variables, **{"idempotency-key": "delete-once"})).json()
    return first, replay, counts, await _counts(services, team.org.organization_id)


async def test_a_replayed_delete_that_misses_redis_writes_nothing(team: Team, services: Services) -> None:
    first, _, counts_before, counts_after = await _delete_then_replay_without_redis(team, services)
    assert first["data"]["commentDelete"]["errors"] == []
    assert counts_after == counts_before


async def test_a_replayed_delete_that_misses_redis_answers_as_the_first_time(
    team: Team, services: Services
) -> None:
    first, replay, _, _ = await _delete_then_replay_without_redis(team, services)
    assert replay["data"] == first["data"]


async def test_each_write_sends_four_statements_with_every_cache_cold(team: Team, services: Services) -> None:
    # The session's read, the write (its checks inside), the comment's read (the payload's, and the
    # task an edit's or a delete's event is about) and the event.
    comment = await _comment(team)
    writes = [
        (CREATE, {"input": {"taskId": team.task_gid(), "body": "budget"}}),
        (UPDATE, {"input": {"id": comment["id"], "body": "budget, edited"}}),
        (DELETE, {"input": {"id": comment["id"]}}),
    ]
    for number, (mutation, variables) in enumerate(writes):
        await services.cache.redis.flushdb()
        response = await team.author.post(
            mutation, variables, **{"idempotency-key": f"comment-budget-{number}"}
        )
        body = response.json()
        assert "errors" not in body, body
        assert all(not payload["errors"] for payload in body["data"].values()), body
        assert body["extensions"]["sqlStatements"] == 4, (mutation, body)
