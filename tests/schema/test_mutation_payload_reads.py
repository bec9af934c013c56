"""A mutation payload's task, read after the commit by the compiled engine (one statement, the one
``task(id:)`` sends for that selection) when it covers the selection, else by the resolvers; the
answer is the same either way, and it is what a query reads next."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from persistence.seed import SeededOrganization, seed_organization
from resolvers.context import Services
from schema.app import create_app
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, SMALL, GraphQLClient, embedded_services

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

# Every kind of field the payload's task may ask for: columns, ids, to-one objects, a list, a count.
SELECTION = """
  id key number title description status priority position version dueDate createdAt updatedAt
  reporter { id name } assignee { id name } project { id key name } labels { id name } commentCount
"""
CREATE = f"""
mutation($input: TaskCreateInput!) {{
  taskCreate(input: $input) {{ task {{ {SELECTION} }} errors {{ field code message }} }}
}}"""
UPDATE = f"""
mutation($input: TaskUpdateInput!) {{
  taskUpdate(input: $input) {{ task {{ {SELECTION} }} errors {{ field code message }} }}
}}"""
# A connection with arguments in the selection: the compiled read leaves it to the resolvers.
UPDATE_WITH_COMMENTS = """
mutation($input: TaskUpdateInput!) {
  taskUpdate(input: $input) {
    task { id version comments(first: 2) { totalCount nodes { body } } }
    errors { field code message }
  }
}"""
TASK = f"query($id: ID!) {{ task(id: $id) {{ {SELECTION} }} }}"
TASK_WITH_COMMENTS = """
query($id: ID!) { task(id: $id) { id version comments(first: 2) { totalCount nodes { body } } } }"""


@pytest.fixture
async def resolvers_gql(services: Services) -> AsyncIterator[GraphQLClient]:
    settings = services.settings.model_copy(update={"execution_engine": "resolvers"})
    app = create_app(services=replace(services, settings=settings))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield GraphQLClient(http)


_request: ContextVar[bool] = ContextVar("payload_reads_test_request", default=False)


@contextmanager
def sent(services: Services) -> Iterator[list[str]]:
    """The statements the requests sent meanwhile, in order: only those sent in this context (the
    in-process transport runs the app in it; the relay's tasks, started with the app, run apart)."""
    statements: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _request.get() and not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    engines = [engine.sync_engine for engine in services.db.engines]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", keep)
    token = _request.set(True)
    try:
        yield statements
    finally:
        _request.reset(token)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", keep)


async def _as_owner(gql: GraphQLClient, org: SeededOrganization) -> GraphQLClient:
    owner = gql.as_user(await gql.login(org.owner_email))
    await owner.run("query { viewer { user { id } } }")  # the session cached: statements are the write's
    return owner


def _create_input(org: SeededOrganization, title: str) -> dict[str, Any]:
    return {
        "projectId": encode_id("Project", org.project_ids[0]),
        "title": title,
        "assigneeId": encode_id("User", org.user_ids[0]),
    }


async def test_a_created_task_is_read_back_as_task_id_reads_it(
    gql: GraphQLClient, services: Services, make_org: MakeOrg
) -> None:
    org = await make_org()
    owner = await _as_owner(gql, org)
    with sent(services) as written:
        body = (await owner.post(CREATE, {"input": _create_input(org, "Read back")})).json()
    payload = body["data"]["taskCreate"]
    assert payload["errors"] == []
    with sent(services) as read:
        queried = await owner.run(TASK, {"id": payload["task"]["id"]})
    # The insert, its event, and the payload's one read: the statement task(id:) sends
    assert body["extensions"]["sqlStatements"] == 3
    assert len(written) == 3
    assert [written[2]] == read
    assert payload["task"] == queried["data"]["task"]
    assert payload["task"]["assignee"]["id"] == encode_id("User", org.user_ids[0])


async def test_the_resolvers_engine_reads_the_payload_through_the_resolvers(
    resolvers_gql: GraphQLClient, gql: GraphQLClient, services: Services, make_org: MakeOrg
) -> None:
    org = await make_org()
    owner = await _as_owner(resolvers_gql, org)
    with sent(services) as written:
        body = (await owner.post(CREATE, {"input": _create_input(org, "Resolved")})).json()
    payload = body["data"]["taskCreate"]
    assert payload["errors"] == []
    compiled_owner = gql.as_user(owner.token)
    with sent(services) as read:
        queried = await compiled_owner.run(TASK, {"id": payload["task"]["id"]})
    assert read[0] not in written
    assert payload["task"] == queried["data"]["task"]


async def test_an_update_answers_with_the_task_after_the_commit(
    gql: GraphQLClient, make_org: MakeOrg
) -> None:
    org = await make_org()
    owner = await _as_owner(gql, org)
    task_id = encode_id("Task", org.task_ids[0])
    before = (await owner.run(TASK, {"id": task_id}))["data"]["task"]
    variables = {"input": {"id": task_id, "version": before["version"], "title": "Renamed", "priority": 3}}
    body = (await owner.post(UPDATE, variables)).json()
    task = body["data"]["taskUpdate"]["task"]
    assert (task["title"], task["priority"], task["version"]) == ("Renamed", 3, before["version"] + 1)
    assert body["extensions"]["sqlStatements"] == 3
    assert task == (await owner.run(TASK, {"id": task_id}))["data"]["task"]


async def test_a_conflict_answers_with_the_task_as_it_is_now(gql: GraphQLClient, make_org: MakeOrg) -> None:
    org = await make_org()
    owner = await _as_owner(gql, org)
    task_id = encode_id("Task", org.task_ids[0])
    now = (await owner.run(TASK, {"id": task_id}))["data"]["task"]
    variables = {"input": {"id": task_id, "version": now["version"] - 1, "title": "Stale"}}
    payload = (await owner.run(UPDATE, variables))["data"]["taskUpdate"]
    assert [error["code"] for error in payload["errors"]] == ["CONFLICT"]
    assert payload["task"] == now


async def test_a_selection_the_compiled_read_leaves_alone_is_resolved(
    gql: GraphQLClient, make_org: MakeOrg
) -> None:
    org = await make_org()
    owner = await _as_owner(gql, org)
    task_id = encode_id("Task", org.task_ids[0])
    version = (await owner.run(TASK, {"id": task_id}))["data"]["task"]["version"]
    variables = {"input": {"id": task_id, "version": version, "title": "With comments"}}
    payload = (await owner.run(UPDATE_WITH_COMMENTS, variables))["data"]["taskUpdate"]
    assert payload["errors"] == []
    assert payload["task"] == (await owner.run(TASK_WITH_COMMENTS, {"id": task_id}))["data"]["task"]


MOVE = """
mutation($input: TaskMoveInput!) { taskMove(input: $input) { task { id status version } errors { code } } }"""
DELETE = "mutation($input: TaskDeleteInput!) { taskDelete(input: $input) { deletedTaskId errors { code } } }"


async def test_on_sqlite_the_writes_and_their_payloads_are_the_same(tmp_path: Path) -> None:
    # The embedded default: SQLite's own statements (max() for GREATEST, json_object), prepared too
    async with embedded_services(tmp_path / "writes.db", "writes") as services:
        org = await seed_organization(
            services.db,
            services.passwords,
            SMALL,
            slug="writes",
            owner_email="o@writes.test",
            password=PASSWORD,
        )
        transport = httpx.ASGITransport(app=create_app(services=services), client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
            owner = await _as_owner(GraphQLClient(http), org)
            with sent(services) as written:
                created = (await owner.run(CREATE, {"input": _create_input(org, "On SQLite")}))["data"]
            task_id = created["taskCreate"]["task"]["id"]
            with sent(services) as read:
                queried = await owner.run(TASK, {"id": task_id})
            assert created["taskCreate"]["task"] == queried["data"]["task"]
            assert written[-1:] == read  # the payload's read is task(id:)'s statement
            update = {"input": {"id": task_id, "version": 1, "title": "Renamed", "dueDate": "2027-01-31"}}
            updated = (await owner.run(UPDATE, update))["data"]["taskUpdate"]["task"]
            assert (updated["title"], updated["dueDate"], updated["version"]) == ("Renamed", "2027-01-31", 2)
            moved = await owner.run(MOVE, {"input": {"id": task_id, "version": 2, "status": "DONE"}})
            assert moved["data"]["taskMove"]["task"] == {"id": task_id, "status": "DONE", "version": 3}
            deleted = await owner.run(DELETE, {"input": {"id": task_id, "version": 3}})
            assert deleted["data"]["taskDelete"] == {"deletedTaskId": task_id, "errors": []}
            assert (await owner.run(TASK, {"id": task_id}))["data"]["task"] is None
