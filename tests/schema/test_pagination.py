"""Keyset pagination through the API, checked against references computed from the database: every
order and direction, both ends' pageInfo, totalCount on every page, nested connections and filters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Insert, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import OrgRole, TaskStatus
from persistence.models import Comment, Organization, Project, Task, User
from persistence.seed import SeedSizes
from resolvers.context import Services
from schema.core.ids import decode_id, encode_id
from tests.conftest import PASSWORD, GraphQLClient

BARE = SeedSizes(users=3, projects=2, tasks=0, comments_per_task=0.0, members_per_project=2)
FILLED = SeedSizes(users=10, projects=3, tasks=160, comments_per_task=0.0, members_per_project=6)
BOARD_SIZE = 23
PAGE = 5
BASE = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)
STATUSES = list(TaskStatus)

# Each order: the API's enum value and the column the reference reads.
ORDERS = {
    "CREATED_AT": "created_at",
    "UPDATED_AT": "updated_at",
    "DUE_DATE": "due_date",
    "PRIORITY": "priority",
    "NUMBER": "number",
    "POSITION": "position",
}
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"


@dataclass
class Board:
    client: GraphQLClient
    organization_id: int
    project_id: int
    other_project_id: int
    user_ids: list[int]
    task_ids: list[int]


async def _owner(gql: GraphQLClient, make_org: Any, sizes: SeedSizes) -> tuple[GraphQLClient, Any]:
    org = await make_org(sizes)
    return gql.as_user(await gql.login(org.owner_email, PASSWORD)), org


def _board_task(org_id: int, project_id: int, i: int, user_ids: Sequence[int]) -> dict[str, Any]:
    """Values chosen so that every order has ties (broken by id) in an order other than the ids',
    due dates have NULLs, and times carry microseconds."""
    return {
        "organization_id": org_id,
        "project_id": project_id,
        "number": 100 - i,
        "title": f"board task {i}",
        "description": "",
        "status": STATUSES[i % len(STATUSES)],
        "priority": (i * 3) % 5,
        "position": ((i * 11) % 6 - 2) * 0.25,
        "assignee_id": user_ids[i % len(user_ids)] if i % 7 else None,
        "reporter_id": user_ids[0],
        "due_date": None if i % 4 == 0 else date(2031, 1, 1) + timedelta(days=(i * 3) % 5),
        "version": 1,
        "created_at": BASE + timedelta(minutes=(i * 7) % 5),
        "updated_at": BASE + timedelta(seconds=(i * 5) % 7, microseconds=((i * 37) % 3) * 123_457),
    }


async def _new_id(conn: AsyncConnection, statement: Insert) -> int:
    key = (await conn.execute(statement)).inserted_primary_key
    assert key is not None
    return int(key[0])


@pytest.fixture
async def board(gql: GraphQLClient, make_org: Any, services: Services) -> Board:
    """A project of 23 tasks (plus deleted ones and another project's, which no walk may show)."""
    client, org = await _owner(gql, make_org, BARE)
    project_id, other_id = org.project_ids
    task_ids: list[int] = []
    async with services.db.unit_of_work() as conn:
        for i in range(BOARD_SIZE):
            values = _board_task(org.organization_id, project_id, i, org.user_ids)
            task_ids.append(await _new_id(conn, insert(Task).values(**values)))
        for i in range(BOARD_SIZE, BOARD_SIZE + 3):
            deleted = _board_task(org.organization_id, project_id, i, org.user_ids)
            await conn.execute(insert(Task).values(**deleted, deleted_at=BASE))
        for i in range(4):
            await conn.execute(
                insert(Task).values(**_board_task(org.organization_id, other_id, i, org.user_ids))
            )
    return Board(client, org.organization_id, project_id, other_id, org.user_ids, task_ids)


def _ascending_key(value: Any, row_id: int) -> tuple[bool, Any, int]:
    """NULL is the smallest value, ties go by id: the documented order of every keyset."""
    return (value is not None, value, row_id)


async def _reference(services: Services, sql: str, params: dict[str, Any], descending: bool) -> list[int]:
    """Ids in (value, id) order, from rows the database returns as (id, value)."""
    async with services.db.read() as conn:
        rows = (await conn.execute(text(sql), params)).all()
    ordered = sorted(rows, key=lambda r: _ascending_key(r[1], r[0]))
    ids = [int(r[0]) for r in ordered]
    return ids[::-1] if descending else ids


def _dig(data: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    for name in path:
        data = data[name]
    return data


def _ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def _page(
    client: GraphQLClient, query: str, path: Sequence[str], variables: dict[str, Any]
) -> dict[str, Any]:
    body = await client.run(query, variables)
    assert "errors" not in body, body
    connection = _dig(body["data"], path)
    edges = connection["edges"]
    # The page's own cursors agree with its edges
    info = connection["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    return connection


async def walk_forward(
    client: GraphQLClient, query: str, path: Sequence[str], total: int, extra: dict[str, Any] | None = None
) -> tuple[list[str], str | None]:
    """Pages with first/after to the end, checking pageInfo and totalCount on each; the ids and the
    last cursor."""
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        connection = await _page(client, query, path, {**(extra or {}), "first": PAGE, "after": after})
        info = connection["pageInfo"]
        assert connection["totalCount"] == total
        assert info["hasPreviousPage"] is (pages > 0)
        seen += _ids(connection)
        pages += 1
        assert info["hasNextPage"] is (len(seen) < total), (len(seen), total)
        if not info["hasNextPage"]:
            break
        assert len(connection["edges"]) == PAGE
        after = info["endCursor"]
        assert pages <= total, "the walk does not end"
    return seen, info["endCursor"] if seen else None


async def walk_backward(
    client: GraphQLClient, query: str, path: Sequence[str], total: int, extra: dict[str, Any] | None = None
) -> tuple[list[str], str | None]:
    """Pages with last/before to the start; the ids in list order and the first cursor."""
    seen: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        connection = await _page(client, query, path, {**(extra or {}), "last": PAGE, "before": before})
        info = connection["pageInfo"]
        assert connection["totalCount"] == total
        assert info["hasNextPage"] is (pages > 0)
        seen = _ids(connection) + seen
        pages += 1
        assert info["hasPreviousPage"] is (len(seen) < total), (len(seen), total)
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
        assert pages <= total, "the walk does not end"
    return seen, info["startCursor"] if seen else None


async def assert_ends_are_empty(
    client: GraphQLClient,
    query: str,
    path: Sequence[str],
    total: int,
    first_cursor: str | None,
    last_cursor: str | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Past either end: no nodes, the total still counted, pageInfo pointing back the way it came."""
    beyond = await _page(client, query, path, {**(extra or {}), "first": PAGE, "after": last_cursor})
    assert (beyond["edges"], beyond["totalCount"]) == ([], total)
    assert beyond["pageInfo"]["hasNextPage"] is False
    assert beyond["pageInfo"]["hasPreviousPage"] is True
    before = await _page(client, query, path, {**(extra or {}), "last": PAGE, "before": first_cursor})
    assert (before["edges"], before["totalCount"]) == ([], total)
    assert before["pageInfo"]["hasPreviousPage"] is False
    assert before["pageInfo"]["hasNextPage"] is True


def _task_query(order: str, direction: str) -> tuple[str, str]:
    """The same walk through Query.tasks (filtered to the project) and through Project.tasks."""
    order_by = f"orderBy: {{field: {order}, direction: {direction}}}"
    edges = f"totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }}"
    top = (
        f"query({VARS}, $p: ID!) {{ tasks({ARGS}, filter: {{projectIds: [$p]}}, {order_by}) {{ {edges} }} }}"
    )
    nested = f"query({VARS}, $p: ID!) {{ project(id: $p) {{ tasks({ARGS}, {order_by}) {{ {edges} }} }} }}"
    return top, nested


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("order", list(ORDERS))
async def test_every_order_walks_each_task_once_both_ways(
    board: Board, services: Services, order: str, direction: str
) -> None:
    # Given a project whose tasks tie on every order, and the order the database values give
    column = ORDERS[order]
    reference = await _reference(
        services,
        f"SELECT id, {column} FROM tasks WHERE project_id = :p AND deleted_at IS NULL",  # noqa: S608 - a fixed column name
        {"p": board.project_id},
        descending=direction == "DESC",
    )
    expected = [encode_id("Task", i) for i in reference]
    assert len(expected) == BOARD_SIZE
    extra = {"p": encode_id("Project", board.project_id)}
    for query, path in zip(_task_query(order, direction), [("tasks",), ("project", "tasks")], strict=True):
        # When the list is walked forward with first/after and backward with last/before
        forward, last_cursor = await walk_forward(board.client, query, path, BOARD_SIZE, extra)
        backward, first_cursor = await walk_backward(board.client, query, path, BOARD_SIZE, extra)
        # Then both visit every task exactly once, in the reference order
        assert forward == expected, path
        assert backward == expected, path
        # And past either end the page is empty, still counted
        await assert_ends_are_empty(board.client, query, path, BOARD_SIZE, first_cursor, last_cursor, extra)


@pytest.mark.parametrize("order", ["DUE_DATE", "UPDATED_AT", "POSITION"])
async def test_every_cursor_resumes_right_after_its_own_row(board: Board, order: str) -> None:
    # Given every edge cursor of the whole list (NULL dates, microseconds and negative floats among them)
    query = _task_query(order, "ASC")[0]
    extra = {"p": encode_id("Project", board.project_id)}
    whole = await _page(board.client, query, ["tasks"], {**extra, "first": 100})
    ids = _ids(whole)
    for k, edge in enumerate(whole["edges"]):
        # When a page starts after it, or ends before it
        after = await _page(board.client, query, ["tasks"], {**extra, "first": 3, "after": edge["cursor"]})
        before = await _page(board.client, query, ["tasks"], {**extra, "last": 3, "before": edge["cursor"]})
        # Then the pages are exactly the neighbours of that row
        assert _ids(after) == ids[k + 1 : k + 4], k
        assert _ids(before) == ids[max(0, k - 3) : k], k


async def test_page_sizes_at_the_edges_of_the_list(board: Board) -> None:
    # Given the board's 23 tasks by number
    query = _task_query("NUMBER", "ASC")[0]
    extra = {"p": encode_id("Project", board.project_id)}
    # When the page is exactly the list, one short of it, or empty
    exact = await _page(board.client, query, ["tasks"], {**extra, "first": BOARD_SIZE})
    short = await _page(board.client, query, ["tasks"], {**extra, "first": BOARD_SIZE - 1})
    none = await _page(board.client, query, ["tasks"], {**extra, "first": 0})
    last_all = await _page(board.client, query, ["tasks"], {**extra, "last": BOARD_SIZE})
    # Then hasNextPage and hasPreviousPage tell exactly whether more exist
    assert (len(exact["edges"]), exact["pageInfo"]["hasNextPage"]) == (BOARD_SIZE, False)
    assert (len(short["edges"]), short["pageInfo"]["hasNextPage"]) == (BOARD_SIZE - 1, True)
    assert (none["edges"], none["pageInfo"]["hasNextPage"], none["totalCount"]) == ([], True, BOARD_SIZE)
    assert last_all["pageInfo"]["hasPreviousPage"] is False
    assert _ids(last_all) == _ids(exact)


async def test_after_and_before_together_give_the_rows_between(board: Board) -> None:
    # Given the board's cursors by priority (ties broken by id)
    query = _task_query("PRIORITY", "DESC")[0]
    extra = {"p": encode_id("Project", board.project_id)}
    whole = await _page(board.client, query, ["tasks"], {**extra, "first": 100})
    ids, cursors = _ids(whole), [e["cursor"] for e in whole["edges"]]
    # When a page is bounded on both sides
    between = await _page(
        board.client, query, ["tasks"], {**extra, "first": 100, "after": cursors[3], "before": cursors[10]}
    )
    tail = await _page(
        board.client, query, ["tasks"], {**extra, "last": 2, "after": cursors[3], "before": cursors[10]}
    )
    # Then it holds exactly the rows strictly between the two cursors
    assert _ids(between) == ids[4:10]
    assert _ids(tail) == ids[8:10]


async def _named_org(services: Services, gql: GraphQLClient) -> tuple[GraphQLClient, int]:
    """An organization whose users and projects have names that tie case-insensitively (as MariaDB's
    collation compares them), one deactivated user and one archived project."""
    suffix = uuid.uuid4().hex[:12]
    names = ["ann", "Bob", "Ann", "cy", "bob", "Ann", "Dee", "Cy", "ann lee", "Anna", "Eve", "eve", "Abe"]
    owner_email = f"owner-{suffix}@names.test"
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.db.unit_of_work() as conn:
        org_id = await _new_id(conn, insert(Organization).values(slug=f"names-{suffix}", name="Names"))
        for i, name in enumerate(["Zed Owner", *names, "Gone"]):
            values = dict(
                organization_id=org_id,
                email=owner_email if i == 0 else f"u{i}-{suffix}@names.test",
                name=name,
                password_hash=password_hash,
                role=OrgRole.OWNER if i == 0 else OrgRole.MEMBER,
                is_operator=False,
                deactivated_at=BASE if name == "Gone" else None,
            )
            await conn.execute(insert(User).values(**values))
        for i, name in enumerate([*names, "Old"]):
            values = dict(
                organization_id=org_id,
                key=f"N{i}",
                name=name,
                description="",
                task_counter=0,
                archived_at=BASE if name == "Old" else None,
            )
            await conn.execute(insert(Project).values(**values))
    return gql.as_user(await gql.login(owner_email, PASSWORD)), org_id


async def _by_name(services: Services, table: str, org_id: int, condition: str) -> list[int]:
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                text(f"SELECT id, name FROM {table} WHERE organization_id = :o AND {condition}"),  # noqa: S608 - fixed names
                {"o": org_id},
            )
        ).all()
    # The collation compares case-insensitively; ties go by id.
    return [int(r[0]) for r in sorted(rows, key=lambda r: (r[1].lower(), r[0]))]


@pytest.mark.parametrize(
    ("field", "type_name", "table", "arguments", "condition"),
    [
        ("users", "User", "users", "", "deactivated_at IS NULL"),
        ("users", "User", "users", ", includeDeactivated: true", "1 = 1"),
        ("projects", "Project", "projects", ", archived: null", "1 = 1"),
        ("projects", "Project", "projects", ", archived: false", "archived_at IS NULL"),
        ("projects", "Project", "projects", ", archived: true", "archived_at IS NOT NULL"),
    ],
)
async def test_users_and_projects_page_by_name(
    gql: GraphQLClient,
    services: Services,
    field: str,
    type_name: str,
    table: str,
    arguments: str,
    condition: str,
) -> None:
    # Given names that tie as the database compares them
    client, org_id = await _named_org(services, gql)
    expected = [encode_id(type_name, i) for i in await _by_name(services, table, org_id, condition)]
    query = (
        f"query({VARS}) {{ {field}({ARGS}{arguments}) "
        f"{{ totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }} }} }}"
    )
    # When the list is walked both ways
    forward, last_cursor = await walk_forward(client, query, [field], len(expected))
    backward, first_cursor = await walk_backward(client, query, [field], len(expected))
    # Then both give the names in order, each row once
    assert forward == expected
    assert backward == expected
    if expected:
        await assert_ends_are_empty(client, query, [field], len(expected), first_cursor, last_cursor)


async def test_task_comments_page_oldest_first(board: Board, services: Services) -> None:
    # Given a task with comments that share timestamps, and a deleted one
    task_id = board.task_ids[0]
    async with services.db.unit_of_work() as conn:
        for i in range(13):
            at = BASE + timedelta(seconds=(i * 5) % 4)
            values = dict(
                task_id=task_id, author_id=board.user_ids[i % 3], body=f"c{i}", created_at=at, updated_at=at
            )
            await conn.execute(insert(Comment).values(**values, deleted_at=BASE if i == 6 else None))
    reference = await _reference(
        services,
        "SELECT id, created_at FROM comments WHERE task_id = :t AND deleted_at IS NULL",
        {"t": task_id},
        descending=False,
    )
    expected = [encode_id("Comment", i) for i in reference]
    query = (
        f"query({VARS}, $t: ID!) {{ task(id: $t) {{ comments({ARGS}) "
        f"{{ totalCount {PAGE_INFO} edges {{ cursor node {{ id author {{ id }} }} }} }} }} }}"
    )
    extra = {"t": encode_id("Task", task_id)}
    # When the comments are walked both ways
    forward, last_cursor = await walk_forward(board.client, query, ["task", "comments"], 12, extra)
    backward, first_cursor = await walk_backward(board.client, query, ["task", "comments"], 12, extra)
    # Then both give them oldest first, ties by id, the deleted one left out
    assert forward == expected
    assert backward == expected
    await assert_ends_are_empty(
        board.client, query, ["task", "comments"], 12, first_cursor, last_cursor, extra
    )


NESTED_USERS = """
query($first: Int, $after: String, $f: TaskFilter) {
  users(first: 100) { nodes { id assignedTasks(first: $first, after: $after, filter: $f) {
    totalCount pageInfo { hasNextPage hasPreviousPage } nodes { id } } } }
}"""
ONE_USER = """
query($u: ID!, $first: Int, $after: String, $f: TaskFilter) {
  user(id: $u) { assignedTasks(first: $first, after: $after, filter: $f) {
    totalCount pageInfo { hasNextPage hasPreviousPage } nodes { id } } }
}"""


def _ids_of(type_name: str, ids: Sequence[int]) -> list[str]:
    return [encode_id(type_name, i) for i in ids]


async def _tasks_where(services: Services, condition: str, params: dict[str, Any]) -> list[int]:
    """The reference for a task list: live tasks matching ``condition``, newest first, ties by id."""
    return await _reference(
        services,
        f"SELECT id, created_at FROM tasks WHERE deleted_at IS NULL AND {condition}",  # noqa: S608 - fixed SQL
        params,
        descending=True,
    )


@pytest.mark.parametrize(
    ("variables", "condition"),
    [
        ({"first": 2}, "1 = 1"),
        ({"first": 3, "f": {"status": ["TODO", "DONE"]}}, "status IN ('todo', 'done')"),
    ],
)
async def test_a_nested_connection_under_a_list_equals_each_parent_alone(
    gql: GraphQLClient, make_org: Any, services: Services, variables: dict[str, Any], condition: str
) -> None:
    # Given an organization where users have different numbers of assigned tasks, one of them none
    client, org = await _owner(gql, make_org, FILLED)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Task).where(Task.assignee_id == org.user_ids[-1]).values(assignee_id=None))
    # When every user's assigned tasks are read in one query, and each user's alone
    body = await client.run(NESTED_USERS, variables)
    assert "errors" not in body, body
    users = body["data"]["users"]["nodes"]
    assert len(users) == FILLED.users
    first = variables["first"]
    for user in users:
        alone = await client.run(ONE_USER, {**variables, "u": user["id"]})
        assert "errors" not in alone, alone
        # Then each user's page is the same either way
        page = user["assignedTasks"]
        assert page == alone["data"]["user"]["assignedTasks"]
        # And it is that user's newest tasks, with the full count
        user_id = decode_id(user["id"], "User")
        reference = await _tasks_where(services, f"assignee_id = :u AND {condition}", {"u": user_id})
        assert page["totalCount"] == len(reference)
        assert [n["id"] for n in page["nodes"]] == _ids_of("Task", reference[:first])
        assert page["pageInfo"] == {"hasNextPage": len(reference) > first, "hasPreviousPage": False}
    # And the data covered both a user with more than a page and one with nothing
    assert any(u["assignedTasks"]["totalCount"] > first for u in users)
    assert any(u["assignedTasks"]["totalCount"] == 0 for u in users)


async def test_a_nested_connection_after_a_cursor_equals_each_parent_alone(
    gql: GraphQLClient, roomy_gql: GraphQLClient, make_org: Any
) -> None:
    # Given a cursor from the middle of one user's assigned tasks (100 users' pages at once: room
    # for their cost)
    owner, _ = await _owner(gql, make_org, FILLED)
    client = roomy_gql.as_user(owner.token)
    body = await client.run(NESTED_USERS, {"first": 4})
    users = body["data"]["users"]["nodes"]
    busiest = max(users, key=lambda u: u["assignedTasks"]["totalCount"])
    cursor_page = await client.run(
        "query($u: ID!) { user(id: $u) { assignedTasks(first: 3) { pageInfo { endCursor } } } }",
        {"u": busiest["id"]},
    )
    cursor = cursor_page["data"]["user"]["assignedTasks"]["pageInfo"]["endCursor"]
    # When every user's page after that point is read at once, and each alone
    together = await client.run(NESTED_USERS, {"first": 2, "after": cursor})
    assert "errors" not in together, together
    for user in together["data"]["users"]["nodes"]:
        alone = await client.run(ONE_USER, {"first": 2, "after": cursor, "u": user["id"]})
        # Then they agree, totals included (counted apart once a cursor narrows the window)
        assert user["assignedTasks"] == alone["data"]["user"]["assignedTasks"], user["id"]
        assert user["assignedTasks"]["pageInfo"]["hasPreviousPage"] is True
        # And the total still counts every assigned task, not only those past the cursor
        everything = next(u for u in users if u["id"] == user["id"])
        assert user["assignedTasks"]["totalCount"] == everything["assignedTasks"]["totalCount"]


async def test_projects_nested_tasks_equal_each_project_alone(gql: GraphQLClient, make_org: Any) -> None:
    # Given an organization with several projects
    client, _ = await _owner(gql, make_org, FILLED)
    fields = (
        "tasks(last: 4, orderBy: {field: POSITION, direction: ASC}) "
        "{ totalCount pageInfo { hasNextPage hasPreviousPage } nodes { id } }"
    )
    # When each project's last tasks by position are read under the list, and for each project alone
    body = await client.run(f"{{ projects(first: 10) {{ nodes {{ id {fields} }} }} }}")
    assert "errors" not in body, body
    projects = body["data"]["projects"]["nodes"]
    assert len(projects) == FILLED.projects
    for project in projects:
        alone = await client.run(f"query($p: ID!) {{ project(id: $p) {{ {fields} }} }}", {"p": project["id"]})
        # Then the two agree, and the page is the list's end
        assert project["tasks"] == alone["data"]["project"]["tasks"]
        assert project["tasks"]["totalCount"] > 4
        assert project["tasks"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}


FilterBuilder = Callable[[dict[str, Any]], tuple[dict[str, Any], str]]


def _in(ids: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


FILTERS: dict[str, FilterBuilder] = {
    "status": lambda d: ({"status": ["TODO", "IN_REVIEW"]}, "status IN ('todo', 'in_review')"),
    "no status": lambda d: ({"status": []}, "1 = 0"),
    "priority": lambda d: ({"priority": [0, 4]}, "priority IN (0, 4)"),
    "assignee": lambda d: (
        {"assigneeIds": _ids_of("User", d["assignees"])},
        f"assignee_id IN ({_in(d['assignees'])})",
    ),
    "label": lambda d: (
        {"labelIds": _ids_of("Label", d["labels"][:1])},
        f"id IN (SELECT task_id FROM task_labels WHERE label_id = {_in(d['labels'][:1])})",  # noqa: S608 - ints
    ),
    "labels across projects": lambda d: (
        {"labelIds": _ids_of("Label", [d["labels"][0], d["labels"][-1]])},
        "id IN (SELECT task_id FROM task_labels WHERE label_id IN "  # noqa: S608 - ints
        f"({_in([d['labels'][0], d['labels'][-1]])}))",
    ),
    "due before": lambda d: ({"dueBefore": d["due"].isoformat()}, f"due_date < '{d['due']}'"),
    "due after": lambda d: ({"dueAfter": d["due"].isoformat()}, f"due_date > '{d['due']}'"),
    "due between": lambda d: (
        {"dueAfter": (d["due"] - timedelta(days=20)).isoformat(), "dueBefore": d["due"].isoformat()},
        f"due_date > '{d['due'] - timedelta(days=20)}' AND due_date < '{d['due']}'",
    ),
    "parent": lambda d: ({"parentId": encode_id("Task", d["parent"])}, f"parent_id = {d['parent']}"),
    "project": lambda d: (
        {"projectIds": _ids_of("Project", d["projects"][1:])},
        f"project_id IN ({_in(d['projects'][1:])})",
    ),
    "combined": lambda d: (
        {
            "status": ["TODO", "IN_PROGRESS", "BACKLOG"],
            "priority": [1, 2, 3],
            "projectIds": _ids_of("Project", d["projects"][:2]),
        },
        "status IN ('todo', 'in_progress', 'backlog') AND priority IN (1, 2, 3) "
        f"AND project_id IN ({_in(d['projects'][:2])})",
    ),
}


async def _org_data(services: Services, org: Any) -> dict[str, Any]:
    """What the filters are built from: the org's labels, its busiest assignees and parent, a due date."""
    params = {"o": org.organization_id}
    async with services.db.read() as conn:

        async def column(sql: str) -> list[Any]:
            return [r[0] for r in await conn.execute(text(sql), params)]

        labels = await column(
            "SELECT l.id FROM labels l JOIN projects p ON p.id = l.project_id "
            "WHERE p.organization_id = :o ORDER BY l.id"
        )
        due = await column(
            "SELECT due_date FROM tasks WHERE organization_id = :o AND due_date IS NOT NULL "
            "ORDER BY due_date LIMIT 1 OFFSET 40"
        )
        assignees = await column(
            "SELECT assignee_id FROM tasks WHERE organization_id = :o AND assignee_id IS NOT NULL "
            "GROUP BY assignee_id ORDER BY COUNT(*) DESC, assignee_id LIMIT 2"
        )
        parents = await column(
            "SELECT parent_id FROM tasks WHERE organization_id = :o AND parent_id IS NOT NULL "
            "AND deleted_at IS NULL GROUP BY parent_id ORDER BY COUNT(*) DESC, parent_id LIMIT 1"
        )
    return {
        "labels": labels,
        "due": due[0],
        "assignees": assignees,
        "parent": parents[0],
        "projects": org.project_ids,
    }


@pytest.mark.parametrize("name", list(FILTERS))
async def test_each_filter_equals_its_sql(
    gql: GraphQLClient, make_org: Any, services: Services, name: str
) -> None:
    # Given a seeded organization, one of its tasks deleted, and the filter's SQL reference
    client, org = await _owner(gql, make_org, FILLED)
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Task).where(Task.id == org.task_ids[5]).values(deleted_at=BASE))
    task_filter, condition = FILTERS[name](await _org_data(services, org))
    reference = await _tasks_where(
        services, f"organization_id = :o AND {condition}", {"o": org.organization_id}
    )
    assert name == "no status" or 0 < len(reference) < len(org.task_ids) - 1, name
    query = (
        f"query({VARS}, $f: TaskFilter) {{ tasks({ARGS}, filter: $f) "
        f"{{ totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }} }} }}"
    )
    # When the filtered list is walked in pages of 40
    seen: list[str] = []
    after = None
    while True:
        page = await _page(client, query, ["tasks"], {"f": task_filter, "first": 40, "after": after})
        # Then every page counts the whole filtered set
        assert page["totalCount"] == len(reference)
        seen += _ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # And the rows are exactly the reference's, newest first
    assert seen == _ids_of("Task", reference)
