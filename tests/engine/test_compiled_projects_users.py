"""Projects and users on the compiled engine give the resolvers' answers, on MariaDB: every field of
Project, User, ProjectMember and ProjectMembership, the roots project (by id and by key), projects,
user and users with their pages and options, and what a member who sees some projects only is shown;
then a few of the same on SQLite."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update

from persistence.enums import ProjectRole, TaskStatus
from persistence.models import Comment, Label, Project, ProjectMember, Task, User
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, SMALL
from tests.engine.differential import Engines, member_with_some_projects
from tests.engine.test_compiled_sqlite import Embedded, embedded

# The embedded default's SQLite database, as tests/engine/test_compiled_sqlite.py makes it (a fixture).
__all__ = ["embedded"]

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

PROJECT_FIELDS = """
  __typename id key name description archived archivedAt createdAt updatedAt openTaskCount viewerRole
  labels { __typename id name color }
  members { __typename role user { id name email role deactivated createdAt } }
"""
USER_FIELDS = """
  __typename id name email role deactivated createdAt
  projects { __typename role project { id key name openTaskCount viewerRole } }
"""

PROJECT = f"""
query Project($id: ID, $key: String) {{
  project(id: $id, key: $key) {{
    {PROJECT_FIELDS}
    tasks(first: 5, orderBy: {{field: NUMBER, direction: ASC}}) {{
      totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ key status assignee {{ name }} }}
    }}
  }}
}}
"""

USER = f"""
query User($id: ID!, $first: Int, $after: String, $filter: TaskFilter) {{
  user(id: $id) {{
    {USER_FIELDS}
    assignedTasks(first: $first, after: $after, filter: $filter) {{
      totalCount
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{ key project {{ key }} }} }}
    }}
  }}
}}
"""

PROJECTS = f"""
query Projects($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {{
  projects(first: $first, after: $after, last: $last, before: $before, archived: $archived) {{
    __typename totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ __typename cursor node {{ {PROJECT_FIELDS} }} }}
    nodes {{ key tasks(first: 2) {{ totalCount nodes {{ key }} }} }}
  }}
}}
"""

USERS = f"""
query Users($first: Int, $after: String, $last: Int, $before: String, $all: Boolean!) {{
  users(first: $first, after: $after, last: $last, before: $before, includeDeactivated: $all) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {USER_FIELDS} }} }}
    nodes {{ name assignedTasks(last: 2) {{ totalCount nodes {{ key }} }} }}
  }}
}}
"""


async def walk(
    engines: Engines, query: str, root: str, variables: dict[str, Any], *, backward: bool
) -> list[str]:
    """Every page of a list, 2 rows at a time, by the cursors each page gives: the nodes' ids."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        asked = {**variables, ("last" if backward else "first"): 2}
        if cursor is not None:
            asked["before" if backward else "after"] = cursor
        page = (await engines.same(query, asked))["data"][root]
        ids = [edge["node"]["id"] for edge in page["edges"]]
        seen = ids + seen if backward else seen + ids
        info = page["pageInfo"]
        if not info["hasPreviousPage" if backward else "hasNextPage"]:
            return seen
        cursor = info["startCursor" if backward else "endCursor"]
    raise AssertionError("the pages never ended")


async def vary(services: Services, org: SeededOrganization, other: SeededOrganization) -> None:
    """What the seed does not make: an archived project, a deactivated user, names beyond ASCII and
    of mixed case (their order is the database's collation; their cursors JSON text), a project
    that shares a name, a membership naming another organization's user, a task done and one
    canceled and one deleted."""
    now = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    projects, users = org.project_ids, org.user_ids
    async with services.db.unit_of_work() as conn:
        await conn.execute(update(Project).where(Project.id == projects[0]).values(archived_at=now))
        await conn.execute(update(Project).where(Project.id == projects[1]).values(name='Émile ✓ "quoted"'))
        await conn.execute(update(Project).where(Project.id == projects[2]).values(name="émile"))
        await conn.execute(update(User).where(User.id == users[-1]).values(deactivated_at=now))
        await conn.execute(update(User).where(User.id == users[-2]).values(name="ångström"))
        await conn.execute(update(User).where(User.id == users[-3]).values(name="Zoë"))
        await conn.execute(
            insert(Label).values(
                [
                    {"project_id": projects[1], "name": "alpha", "color": "#000001"},
                    {"project_id": projects[1], "name": "Beta", "color": "#000002"},
                    {"project_id": projects[1], "name": "Ünïcode", "color": "#000003"},
                ]
            )
        )
        await conn.execute(
            insert(ProjectMember).values(
                project_id=projects[1], user_id=other.user_ids[3], role=ProjectRole.EDITOR
            )
        )
        tasks = org.task_ids
        await conn.execute(update(Task).where(Task.id == tasks[0]).values(status=TaskStatus.DONE))
        await conn.execute(update(Task).where(Task.id == tasks[1]).values(status=TaskStatus.CANCELED))
        await conn.execute(update(Task).where(Task.id == tasks[2]).values(deleted_at=now))


async def test_a_project_by_id_and_by_key(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    for project_id in org.project_ids:
        found = await engines.same(PROJECT, {"id": encode_id("Project", project_id)})
        key = found["data"]["project"]["key"]
        assert await engines.same(PROJECT, {"key": key}) == found
        # A key is read as the resolvers read it: trimmed and upper-cased.
        assert await engines.same(PROJECT, {"key": f"  {key.lower()} "}) == found
    for hidden in ({"id": encode_id("Project", other.project_ids[0])}, {"key": "NOPE"}, {"key": ""}):
        missing = await engines.same(PROJECT, hidden)
        assert missing["data"] == {"project": None}
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Both, neither or an id of another type: the resolvers answer, with their error.
    both = {"id": encode_id("Project", org.project_ids[0]), "key": "OPS"}
    for refused in (both, {}, {"id": encode_id("Task", org.task_ids[0])}, {"id": "not an id"}):
        answer = await engines.same(PROJECT, refused, compiled=False)
        assert answer["errors"]


async def test_members_and_labels_keep_the_resolvers_order_and_organization(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    varied = await engines.same(PROJECT, {"id": encode_id("Project", org.project_ids[1])})
    project = varied["data"]["project"]
    assert [label["name"] for label in project["labels"]][:2] == ["alpha", "Beta"]
    member_ids = {member["user"]["id"] for member in project["members"]}
    assert encode_id("User", other.user_ids[3]) not in member_ids
    assert project["openTaskCount"] >= 0


async def test_a_user_and_their_projects_and_tasks(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    for user_id in org.user_ids:
        variables: dict[str, Any] = {"id": encode_id("User", user_id), "first": 3}
        found = (await engines.same(USER, variables))["data"]["user"]
        tasks = found["assignedTasks"]
        if tasks["pageInfo"]["hasNextPage"]:
            await engines.same(USER, {**variables, "after": tasks["pageInfo"]["endCursor"]})
        await engines.same(USER, {**variables, "filter": {"status": ["TODO", "IN_PROGRESS"]}})
    for hidden in (other.user_ids[0], 10**12):
        missing = await engines.same(USER, {"id": encode_id("User", hidden)})
        assert missing["data"] == {"user": None}
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await engines.same(USER, {"id": encode_id("Project", org.project_ids[0])}, compiled=False)


async def test_the_projects_list(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    counts = []
    for archived in (None, True, False):
        listed = await engines.same(PROJECTS, {"archived": archived, "first": 50})
        counts.append(listed["data"]["projects"]["totalCount"])
        forward = await walk(engines, PROJECTS, "projects", {"archived": archived}, backward=False)
        assert await walk(engines, PROJECTS, "projects", {"archived": archived}, backward=True) == forward
    assert counts == [len(org.project_ids), 1, len(org.project_ids) - 1]
    await engines.same(PROJECTS, {"first": 0})
    await engines.same(PROJECTS, {"first": 1, "last": 1}, compiled=False)
    await engines.same(PROJECTS, {"after": "not a cursor"}, compiled=False)


async def test_the_users_list(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    counts = []
    for everyone in (False, True):
        listed = await engines.same(USERS, {"all": everyone, "first": 50})
        counts.append(listed["data"]["users"]["totalCount"])
        forward = await walk(engines, USERS, "users", {"all": everyone}, backward=False)
        assert await walk(engines, USERS, "users", {"all": everyone}, backward=True) == forward
    assert counts == [len(org.user_ids) - 1, len(org.user_ids)]
    # The default leaves the deactivated out.
    assert (await engines.same("{ users { totalCount } }"))["data"]["users"]["totalCount"] == counts[0]


async def test_a_member_sees_only_their_projects_and_the_same_users(
    services: Services, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        listed = await member.same(PROJECTS, {"first": 50})
        seen = listed["data"]["projects"]["totalCount"]
        assert 0 < seen < len(org.project_ids)
        hidden = 0
        for project_id in org.project_ids:
            answer = await member.same(PROJECT, {"id": encode_id("Project", project_id)})
            hidden += answer["data"]["project"] is None
        assert hidden == len(org.project_ids) - seen
        for user_id in org.user_ids:
            await member.same(USER, {"id": encode_id("User", user_id), "first": 50})
        await member.same(USERS, {"all": True, "first": 50})
        # Several roots in one operation, each its own statement.
        await member.same(
            "{ projects { nodes { key viewerRole } } users { nodes { name projects { role } } }"
            " tasks(first: 3) { nodes { project { key members { role user { name } } } } } }"
        )
    finally:
        await both.close()


DEEP = (
    "query ($id: ID!) { project(id: $id) { key members { role user { name"
    " projects { role project { key labels { name } members { user { name } } } }"
    " assignedTasks(first: 3) { nodes { key project { key openTaskCount viewerRole } } } } } } }"
)
DEEP_LIST = (
    "{ tasks(first: 10) { nodes { key"
    " project { viewerRole openTaskCount tasks(first: 1) { nodes { key } } }"
    " assignee { projects { project { key } } assignedTasks(first: 1) { totalCount } } } } }"
)


async def test_deep_nesting_between_projects_users_and_tasks(
    engines: Engines, org: SeededOrganization
) -> None:
    await engines.same(DEEP, {"id": encode_id("Project", org.project_ids[0])})
    await engines.same(DEEP_LIST)


NODE = """
query ($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Project { key openTaskCount viewerRole members { role user { name } } }
    ... on User { name projects { role project { key } } }
  }
}
"""


async def test_node_reads_projects_and_users_as_their_roots_do(
    services: Services, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        hidden = 0
        for project_id in org.project_ids:
            found = await member.same(NODE, {"id": encode_id("Project", project_id)})
            hidden += found["data"]["node"] is None
        assert 0 < hidden < len(org.project_ids)
        for user_id in org.user_ids[:3]:
            found = await member.same(NODE, {"id": encode_id("User", user_id)})
            assert found["data"]["node"]["__typename"] == "User"
        for missing in (encode_id("Project", other.project_ids[0]), encode_id("User", other.user_ids[0])):
            answer = await member.same(NODE, {"id": missing})
            assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        await both.close()


async def test_a_foreign_comment_author_is_hidden_on_both_engines(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    # A comment another organization's user wrote (as a buggy write could leave it), read beside a
    # project's members so that the operation compiles whole.
    other = await make_org(SMALL)
    async with services.db.unit_of_work() as conn:
        await conn.execute(
            insert(Comment).values(task_id=org.task_ids[0], author_id=other.user_ids[0], body="x")
        )
    answer = await engines.same(
        "query ($id: ID!) { task(id: $id) { comments(last: 1) { nodes { body author { id } } }"
        " project { members { user { id } } } } }",
        {"id": encode_id("Task", org.task_ids[0])},
    )
    assert answer["data"]["task"]["comments"]["nodes"] == [{"body": "x", "author": None}]


VIEWER = f"""
query Viewer($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {{
  viewer {{
    projects(first: $first, after: $after, last: $last, before: $before, archived: $archived) {{
      totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{ {PROJECT_FIELDS} }} }}
    }}
  }}
}}
"""


async def test_the_viewers_projects(
    services: Services, engines: Engines, org: SeededOrganization, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    await vary(services, org, other)
    # Only the active projects unless asked otherwise (Viewer.projects' default, unlike Query.projects').
    active = await engines.same(VIEWER, {"first": 50})
    assert active["data"]["viewer"]["projects"]["totalCount"] == len(org.project_ids) - 1
    for archived in (None, True):
        await engines.same(VIEWER, {"first": 50, "archived": archived})
    listed = await engines.same(VIEWER, {"first": 1})
    cursor = listed["data"]["viewer"]["projects"]["pageInfo"]["endCursor"]
    await engines.same(VIEWER, {"first": 1, "after": cursor})
    await engines.same(VIEWER, {"last": 1, "before": cursor, "archived": None})
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        seen = await member.same(VIEWER, {"first": 50, "archived": None})
        assert 0 < seen["data"]["viewer"]["projects"]["totalCount"] < len(org.project_ids)
    finally:
        await both.close()


async def test_a_project_root_is_one_statement(engines: Engines, org: SeededOrganization) -> None:
    answer = await engines.compiled.run(PROJECT, {"id": encode_id("Project", org.project_ids[0])})
    assert answer["extensions"]["sqlStatements"] == 1
    answer = await engines.compiled.run(USERS, {"all": True, "first": 50})
    assert answer["extensions"]["sqlStatements"] == 1


async def test_projects_and_users_agree_on_sqlite(embedded: Embedded) -> None:
    owner, org = embedded.owner, embedded.org
    for project_id in org.project_ids:
        found = await owner.same(PROJECT, {"id": encode_id("Project", project_id)})
        await owner.same(PROJECT, {"key": f" {found['data']['project']['key'].lower()}"})
    missing = await owner.same(PROJECT, {"key": "NOPE"})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for user_id in org.user_ids[:4]:
        await owner.same(USER, {"id": encode_id("User", user_id), "first": 3})
    for archived in (None, False):
        forward = await walk(owner, PROJECTS, "projects", {"archived": archived}, backward=False)
        assert await walk(owner, PROJECTS, "projects", {"archived": archived}, backward=True) == forward
    await owner.same(DEEP_LIST)
    await owner.same(VIEWER, {"first": 2})
    forward = await walk(owner, USERS, "users", {"all": True}, backward=False)
    assert len(forward) == len(org.user_ids)
    assert await walk(owner, USERS, "users", {"all": True}, backward=True) == forward


async def test_a_member_sees_only_their_projects_on_sqlite(embedded: Embedded) -> None:
    member = await embedded.owner.as_user(
        embedded.services, await member_with_some_projects(embedded.services, embedded.org), PASSWORD
    )
    listed = await member.same(PROJECTS, {"first": 50})
    assert 0 < listed["data"]["projects"]["totalCount"] < len(embedded.org.project_ids)
    for project_id in embedded.org.project_ids:
        await member.same(PROJECT, {"id": encode_id("Project", project_id)})
    for user_id in embedded.org.user_ids[:4]:
        await member.same(USER, {"id": encode_id("User", user_id), "first": 50})


async def test_a_statement_too_deep_for_sqlite_runs_on_the_resolvers(embedded: Embedded) -> None:
    owner, task_id = embedded.owner, encode_id("Task", embedded.org.task_ids[0])
    parents = "query ($id: ID!) { task(id: $id) { key %s } }"
    await owner.same(parents % "parent { key parent { key } }", {"id": task_id})
    # SQLite's parser's stack overflows on seven nested subqueries; the resolvers read level by level.
    deep = "parent { key " * 7 + "}" * 7
    await owner.same(parents % deep, {"id": task_id}, compiled=False)
    # A project's members' projects' members: the same on MariaDB is one statement.
    await owner.same(DEEP, {"id": encode_id("Project", embedded.org.project_ids[0])}, compiled=False)
