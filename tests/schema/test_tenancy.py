"""Tenancy: nobody reads another organization's data, and members read only their projects.

A hidden object reads exactly like a missing one: the field is null with one NOT_FOUND error whose
message is the same as for an id that never existed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Insert, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.models import Comment, Event, Label, Project, ProjectMember, Task, TaskLabel, User
from persistence.seed import SeededOrganization, SeedSizes
from resolvers.context import Services
from schema.core.ids import decode_any_id, encode_id
from tests.conftest import GraphQLClient

MakeOrg = Callable[..., Awaitable[SeededOrganization]]
MISSING_ID = 9_000_000_000
# Ten users, so that index 9 is a guest (persistence.seed: 0 owner, 1-2 admins, i % 10 == 9 guests).
WITH_GUEST = SeedSizes(users=10, projects=3, tasks=30, comments_per_task=1.0, members_per_project=4)

NODE = "query($id: ID!) { node(id: $id) { id } }"
TASK = "query($id: ID!) { task(id: $id) { id title } }"
PROJECT = "query($id: ID!) { project(id: $id) { id name } }"
PROJECT_BY_KEY = "query($key: String!) { project(key: $key) { id name } }"
USER = "query($id: ID!) { user(id: $id) { id email } }"
TASK_BY_KEY = "query($key: String!) { taskByKey(key: $key) { id title } }"
TASKS = """query($filter: TaskFilter) {
  tasks(first: 100, filter: $filter) { totalCount nodes { id } }
}"""
SEARCH = "query($q: String!) { searchTasks(query: $q, first: 100) { totalCount nodes { id } } }"
PROJECTS = "{ projects(first: 100) { totalCount nodes { id } } }"
VIEWER_TASKS = "{ viewer { assignedTasks(first: 100) { nodes { id } } } }"
USER_WORK = """query($id: ID!) {
  user(id: $id) {
    projects { project { id } }
    assignedTasks(first: 100) { nodes { id project { id } } }
  }
}"""
# Every root field and every edge of the schema, walked from one viewer.
EVERYTHING = """query($q: String!) {
  viewer {
    user { id } organization { id }
    projects(first: 100) { nodes { id } }
    assignedTasks(first: 100) { nodes { id project { id } } }
  }
  organization { id }
  users(first: 100) {
    totalCount
    nodes { id projects { project { id } } assignedTasks(first: 100) { nodes { id } } }
  }
  projects(first: 100) {
    totalCount
    nodes { id labels { id } members { user { id } } tasks(first: 100) { nodes { id } } }
  }
  tasks(first: 100) {
    totalCount
    nodes {
      id project { id } assignee { id } reporter { id } labels { id } parent { id }
      subtasks { id } attachments { id }
      comments(first: 100) { nodes { id author { id } } }
      activity(first: 100) { nodes { id actor { id } } }
    }
  }
  searchTasks(query: $q, first: 100) { nodes { id } }
}"""


def gid(type_name: str, database_id: int) -> str:
    return encode_id(type_name, database_id)


def global_ids(value: Any) -> Iterator[tuple[str, int]]:
    """Every (type, database id) of every object in a response, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                yield decode_any_id(item)
            else:
                yield from global_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from global_ids(item)


def ids_in(body: dict[str, Any], type_name: str) -> set[int]:
    assert "errors" not in body, body
    return {database_id for kind, database_id in global_ids(body["data"]) if kind == type_name}


async def assert_reads_as_missing(
    client: GraphQLClient, query: str, hidden: dict[str, Any], missing: dict[str, Any]
) -> None:
    """The hidden object's answer is the answer for an object that never existed: a null field
    and one NOT_FOUND error, with the same message and path."""
    answers = []
    for variables in (hidden, missing):
        body = await client.run(query, variables)
        body.pop("extensions", None)
        answers.append(body)
    assert answers[0] == answers[1], (hidden, answers)
    body = answers[0]
    assert list(body["data"].values()) == [None], body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"], body


async def owned_ids(services: Services, organization_id: int) -> dict[str, set[int]]:
    """Every object of an organization, by GraphQL type, read straight from the tables."""
    queries = {
        "User": select(User.id).where(User.organization_id == organization_id),
        "Project": select(Project.id).where(Project.organization_id == organization_id),
        "Task": select(Task.id).where(Task.organization_id == organization_id),
        "Label": select(Label.id).join(Project).where(Project.organization_id == organization_id),
        "Comment": select(Comment.id).join(Task).where(Task.organization_id == organization_id),
        "ActivityEvent": select(Event.id).where(Event.organization_id == organization_id),
    }
    owned = {"Organization": {organization_id}}
    async with services.db.read() as conn:
        for type_name, statement in queries.items():
            owned[type_name] = set((await conn.execute(statement)).scalars())
    return owned


async def emails(services: Services, user_ids: list[int]) -> dict[int, str]:
    async with services.db.read() as conn:
        rows = (await conn.execute(select(User.id, User.email).where(User.id.in_(user_ids)))).all()
    return {row.id: row.email for row in rows}


async def project_ids_of(services: Services, user_id: int) -> set[int]:
    async with services.db.read() as conn:
        statement = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
        return set((await conn.execute(statement)).scalars())


async def task_ids_in(
    services: Services, project_ids: set[int], *, assignee_id: int | None = None
) -> set[int]:
    statement = select(Task.id).where(Task.project_id.in_(project_ids), Task.deleted_at.is_(None))
    if assignee_id is not None:
        statement = statement.where(Task.assignee_id == assignee_id)
    async with services.db.read() as conn:
        return set((await conn.execute(statement)).scalars())


async def inserted_id(conn: AsyncConnection, statement: Insert) -> int:
    key = (await conn.execute(statement)).inserted_primary_key
    assert key is not None
    return int(key[0])


async def insert_task(
    services: Services, project_id: int, *, number: int, title: str, person: int, label_id: int | None = None
) -> int:
    async with services.db.unit_of_work() as conn:
        organization_id = (
            await conn.execute(select(Project.organization_id).where(Project.id == project_id))
        ).scalar_one()
        values = dict(
            organization_id=organization_id,
            project_id=project_id,
            number=number,
            title=title,
            description="only here",
            status=TaskStatus.TODO,
            priority=1,
            position=float(number),
            assignee_id=person,
            reporter_id=person,
            version=1,
        )
        task_id = await inserted_id(conn, insert(Task).values(**values))
        if label_id is not None:
            await conn.execute(insert(TaskLabel).values(task_id=task_id, label_id=label_id))
    return task_id


async def insert_project(
    services: Services, organization_id: int, key: str, members: dict[int, ProjectRole]
) -> tuple[int, int]:
    """A project with the given members and one label; returns the project's and the label's id."""
    async with services.db.unit_of_work() as conn:
        values = dict(organization_id=organization_id, key=key, name=f"{key} project", task_counter=1)
        project_id = await inserted_id(conn, insert(Project).values(**values))
        await conn.execute(
            insert(ProjectMember),
            [{"project_id": project_id, "user_id": u, "role": r} for u, r in members.items()],
        )
        label = insert(Label).values(project_id=project_id, name="secret", color="#000000")
        label_id = await inserted_id(conn, label)
    return project_id, label_id


def unique_word() -> str:
    """A word only one test's data contains (FULLTEXT indexes letters and digits as one token)."""
    return f"quokka{uuid.uuid4().hex[:10]}"


# --- across organizations --------------------------------------------------------------------------


@dataclass
class Tenants:
    a: SeededOrganization
    b: SeededOrganization
    # A's owner: an owner sees every project of A, so only the organization boundary hides B.
    viewer: GraphQLClient
    b_viewer: GraphQLClient


@pytest.fixture
async def tenants(make_org: MakeOrg, gql: GraphQLClient) -> Tenants:
    a, b = await make_org(), await make_org()
    viewer = gql.as_user(await gql.login(a.owner_email))
    b_viewer = gql.as_user(await gql.login(b.owner_email))
    return Tenants(a, b, viewer, b_viewer)


async def test_node_reads_other_organizations_objects_as_missing(tenants: Tenants) -> None:
    # Given B's task, project, user and organization
    b = tenants.b
    b_objects = {
        "Task": b.task_ids[0],
        "Project": b.project_ids[0],
        "User": b.user_ids[0],
        "Organization": b.organization_id,
    }
    for type_name, database_id in b_objects.items():
        # When A's owner refetches each by global id
        # Then it reads exactly like an id that never existed
        await assert_reads_as_missing(
            tenants.viewer,
            NODE,
            {"id": gid(type_name, database_id)},
            {"id": gid(type_name, MISSING_ID)},
        )
    # And B itself reads them (so it was the organization that hid them)
    body = await tenants.b_viewer.run(NODE, {"id": gid("Task", b.task_ids[0])})
    assert body["data"] == {"node": {"id": gid("Task", b.task_ids[0])}}


async def test_id_fields_read_other_organizations_objects_as_missing(tenants: Tenants) -> None:
    # Given B's task, project and user
    b = tenants.b
    cases = [
        (TASK, "Task", b.task_ids[0]),
        (PROJECT, "Project", b.project_ids[0]),
        (USER, "User", b.user_ids[1]),
    ]
    for query, type_name, database_id in cases:
        # When A's owner asks for each through its own root field
        # Then it reads exactly like an id that never existed
        await assert_reads_as_missing(
            tenants.viewer, query, {"id": gid(type_name, database_id)}, {"id": gid(type_name, MISSING_ID)}
        )


async def test_keys_resolve_within_the_viewers_organization(services: Services, tenants: Tenants) -> None:
    # Given both organizations have a project OPS with a task OPS-1 (seeded keys coincide)
    a, b = tenants.a, tenants.b
    # When A's owner asks for them by key
    project = await tenants.viewer.run(PROJECT_BY_KEY, {"key": "OPS"})
    task = await tenants.viewer.run(TASK_BY_KEY, {"key": "OPS-1"})
    # Then A gets its own, never B's
    assert project["data"]["project"]["id"] == gid("Project", a.project_ids[0])
    assert task["data"]["taskByKey"]["id"] == gid("Task", a.task_ids[0])
    b_task = await tenants.b_viewer.run(TASK_BY_KEY, {"key": "OPS-1"})
    assert b_task["data"]["taskByKey"]["id"] == gid("Task", b.task_ids[0])
    # And given a project and task whose key only B has
    only_b, _ = await insert_project(services, b.organization_id, "BONLY", {b.user_ids[0]: ProjectRole.ADMIN})
    await insert_task(services, only_b, number=1, title="b only", person=b.user_ids[0])
    assert (await tenants.b_viewer.run(TASK_BY_KEY, {"key": "BONLY-1"}))["data"]["taskByKey"] is not None
    # Then for A they read exactly like keys nobody has
    await assert_reads_as_missing(tenants.viewer, PROJECT_BY_KEY, {"key": "BONLY"}, {"key": "NOPE"})
    await assert_reads_as_missing(tenants.viewer, TASK_BY_KEY, {"key": "BONLY-1"}, {"key": "NOPE-1"})


async def test_task_filters_with_other_organizations_ids_find_nothing(
    services: Services, tenants: Tenants
) -> None:
    # Given a project, an assignee and a label of B that B's own filters do match
    b = tenants.b
    async with services.db.read() as conn:
        assignee = (
            await conn.execute(
                select(Task.assignee_id)
                .where(Task.organization_id == b.organization_id, Task.assignee_id.is_not(None))
                .limit(1)
            )
        ).scalar_one()
        assert assignee is not None
        label = (
            await conn.execute(
                select(TaskLabel.label_id)
                .join(Task)
                .where(Task.organization_id == b.organization_id)
                .limit(1)
            )
        ).scalar_one()
    filters = {
        "projectIds": {"projectIds": [gid("Project", b.project_ids[0])]},
        "assigneeIds": {"assigneeIds": [gid("User", assignee)]},
        "labelIds": {"labelIds": [gid("Label", label)]},
    }
    for name, task_filter in filters.items():
        own = await tenants.b_viewer.run(TASKS, {"filter": task_filter})
        assert own["data"]["tasks"]["totalCount"] > 0, name
        # When A's owner filters tasks by it
        body = await tenants.viewer.run(TASKS, {"filter": task_filter})
        # Then nothing comes back, not even a count
        assert body["data"]["tasks"] == {"totalCount": 0, "nodes": []}, name


async def test_search_finds_other_organizations_words_only_for_them(
    services: Services, tenants: Tenants
) -> None:
    # Given a task in B with a word no other data contains
    word = unique_word()
    b = tenants.b
    task_id = await insert_task(
        services, b.project_ids[0], number=1000, title=f"Secret {word}", person=b.user_ids[0]
    )
    # When B's owner and A's owner search for it
    found = await tenants.b_viewer.run(SEARCH, {"q": word})
    hidden = await tenants.viewer.run(SEARCH, {"q": word})
    # Then B finds it and A finds nothing
    assert found["data"]["searchTasks"] == {"totalCount": 1, "nodes": [{"id": gid("Task", task_id)}]}
    assert hidden["data"]["searchTasks"] == {"totalCount": 0, "nodes": []}


async def test_every_root_field_and_edge_stays_inside_the_organization(
    services: Services, tenants: Tenants, roomy_gql: GraphQLClient
) -> None:
    # Given two organizations whose seeded words, keys and names overlap
    a_owned = await owned_ids(services, tenants.a.organization_id)
    b_owned = await owned_ids(services, tenants.b.organization_id)
    # When A's owner walks every root field and every edge in one operation (the search hits words
    # both have)
    viewer = roomy_gql.as_user(tenants.viewer.token)
    body = await viewer.run(EVERYTHING, {"q": "customer latency timeout database deploy"})
    assert "errors" not in body, body
    reached: dict[str, set[int]] = {}
    for type_name, database_id in global_ids(body["data"]):
        reached.setdefault(type_name, set()).add(database_id)
    # Then every object reached is A's, of every type, and none is B's
    assert set(reached) == {"Organization", "User", "Project", "Task", "Label", "Comment", "ActivityEvent"}
    for type_name, seen in reached.items():
        assert seen <= a_owned[type_name], type_name
        assert not seen & b_owned[type_name], type_name
    # And the lists are A's whole organization: users, projects, tasks
    data = body["data"]
    assert {decode_any_id(n["id"])[1] for n in data["users"]["nodes"]} == a_owned["User"]
    assert {decode_any_id(n["id"])[1] for n in data["projects"]["nodes"]} == a_owned["Project"]
    assert data["tasks"]["totalCount"] == len(a_owned["Task"])
    assert data["searchTasks"]["nodes"]
    # And the viewer's own assigned tasks are exactly A's tasks assigned to the owner
    async with services.db.read() as conn:
        statement = select(Task.id).where(Task.assignee_id == tenants.a.user_ids[0])
        assigned = set((await conn.execute(statement)).scalars())
    assert ids_in({"data": data["viewer"]["assignedTasks"]}, "Task") == assigned


async def test_planted_cross_organization_references_stay_hidden(
    services: Services, tenants: Tenants
) -> None:
    # Given rows of A that point at B (as a buggy write could leave them): a task whose assignee,
    # reporter and parent are B's, that carries B's label, has a comment and an event by B's user,
    # and whose project lists B's user as a member; and A's owner listed as a member of B's project
    a, b = tenants.a, tenants.b
    task_id, project_id = a.task_ids[0], a.project_ids[0]
    b_user, b_task = b.user_ids[0], b.task_ids[0]
    async with services.db.unit_of_work() as conn:
        b_label = (
            await conn.execute(select(Label.id).where(Label.project_id == b.project_ids[0]).limit(1))
        ).scalar_one()
        await conn.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(assignee_id=b_user, reporter_id=b_user, parent_id=b_task)
        )
        a_label = (
            await conn.execute(select(Label.id).where(Label.project_id == project_id).limit(1))
        ).scalar_one()
        await conn.execute(delete(TaskLabel).where(TaskLabel.task_id == task_id))
        await conn.execute(
            insert(TaskLabel), [{"task_id": task_id, "label_id": i} for i in (a_label, b_label)]
        )
        await conn.execute(insert(Comment).values(task_id=task_id, author_id=b_user, body="planted"))
        await conn.execute(
            insert(Event).values(
                organization_id=a.organization_id,
                project_id=project_id,
                task_id=task_id,
                actor_id=b_user,
                type="task.updated",
                payload={},
            )
        )
        await conn.execute(
            insert(ProjectMember),
            [
                {"project_id": project_id, "user_id": b_user, "role": ProjectRole.VIEWER},
                {"project_id": b.project_ids[0], "user_id": a.user_ids[0], "role": ProjectRole.VIEWER},
            ],
        )
    # When A's owner reads that task through every edge it has, and their own memberships
    query = """query($id: ID!) { task(id: $id) {
      id assignee { id } reporter { id } parent { id } labels { id }
      comments(first: 100) { nodes { id body author { id } } }
      activity(first: 100) { nodes { id actor { id } } }
      project { id members { user { id } } labels { id } }
    }
    viewer { user { projects { project { id } } } } }"""
    body = await tenants.viewer.run(query, {"id": gid("Task", task_id)})
    assert "errors" not in body, body
    # Then none of B's objects shows: the references read as empty
    b_owned = await owned_ids(services, b.organization_id)
    for type_name, database_id in global_ids(body["data"]):
        assert database_id not in b_owned.get(type_name, set()), (type_name, database_id, body)
    task = body["data"]["task"]
    assert (task["assignee"], task["reporter"], task["parent"]) == (None, None, None)
    planted = next(c for c in task["comments"]["nodes"] if c["body"] == "planted")
    assert planted["author"] is None
    assert any(event["actor"] is None for event in task["activity"]["nodes"])
    # And the task's own label still shows (only the foreign one is left out)
    assert task["labels"] == [{"id": gid("Label", a_label)}]
    # And B's user is still readable by B (the row exists; only A is refused)
    b_body = await tenants.b_viewer.run(NODE, {"id": gid("User", b_user)})
    assert b_body["data"] == {"node": {"id": gid("User", b_user)}}


# --- within one organization -----------------------------------------------------------------------


@dataclass
class PrivateProject:
    """One organization where project PRIV has only an insider (member) and a guest in it, and
    project SHRD the insider and an outsider (member); each has a task assigned to the insider."""

    org: SeededOrganization
    project_id: int
    shared_project_id: int
    task_id: int
    word: str
    clients: dict[str, GraphQLClient]
    users: dict[str, int]


@pytest.fixture
async def private(services: Services, make_org: MakeOrg, gql: GraphQLClient) -> PrivateProject:
    org = await make_org(WITH_GUEST)
    users = {
        "owner": org.user_ids[0],
        "admin": org.user_ids[1],
        "insider": org.user_ids[3],
        "outsider": org.user_ids[4],
        "guest": org.user_ids[9],
    }
    async with services.db.read() as conn:
        roles = dict(
            (await conn.execute(select(User.id, User.role).where(User.id.in_(users.values())))).all()
        )
    assert [roles[users[n]] for n in ("owner", "admin", "insider", "outsider", "guest")] == [
        OrgRole.OWNER,
        OrgRole.ADMIN,
        OrgRole.MEMBER,
        OrgRole.MEMBER,
        OrgRole.GUEST,
    ]
    project_id, label_id = await insert_project(
        services,
        org.organization_id,
        "PRIV",
        {users["insider"]: ProjectRole.EDITOR, users["guest"]: ProjectRole.VIEWER},
    )
    shared_id, _ = await insert_project(
        services,
        org.organization_id,
        "SHRD",
        {users["insider"]: ProjectRole.EDITOR, users["outsider"]: ProjectRole.EDITOR},
    )
    word = unique_word()
    task_id = await insert_task(
        services, project_id, number=1, title=f"Private {word}", person=users["insider"], label_id=label_id
    )
    await insert_task(services, shared_id, number=1, title="Shared work", person=users["insider"])
    addresses = await emails(services, list(users.values()))
    clients = {name: gql.as_user(await gql.login(addresses[uid])) for name, uid in users.items()}
    return PrivateProject(org, project_id, shared_id, task_id, word, clients, users)


async def test_outsider_reads_private_project_and_task_as_missing(private: PrivateProject) -> None:
    # Given a member of the organization who is not in PRIV
    outsider = private.clients["outsider"]
    project, task = gid("Project", private.project_id), gid("Task", private.task_id)
    # When they ask for PRIV and its task by every root field
    # Then each reads exactly like something that never existed
    await assert_reads_as_missing(outsider, NODE, {"id": project}, {"id": gid("Project", MISSING_ID)})
    await assert_reads_as_missing(outsider, NODE, {"id": task}, {"id": gid("Task", MISSING_ID)})
    await assert_reads_as_missing(outsider, PROJECT, {"id": project}, {"id": gid("Project", MISSING_ID)})
    await assert_reads_as_missing(outsider, PROJECT_BY_KEY, {"key": "PRIV"}, {"key": "NOPE"})
    await assert_reads_as_missing(outsider, TASK, {"id": task}, {"id": gid("Task", MISSING_ID)})
    await assert_reads_as_missing(outsider, TASK_BY_KEY, {"key": "PRIV-1"}, {"key": "NOPE-1"})
    # And the insider reads both (so it was membership that hid them)
    insider = private.clients["insider"]
    assert (await insider.run(TASK_BY_KEY, {"key": "PRIV-1"}))["data"]["taskByKey"]["id"] == task
    assert (await insider.run(PROJECT, {"id": project}))["data"]["project"]["id"] == project


async def test_outsider_lists_and_search_skip_private_project(
    services: Services, private: PrivateProject
) -> None:
    outsider, insider = private.clients["outsider"], private.clients["insider"]
    users = private.users
    # Given the insider sees PRIV's task everywhere
    assert private.task_id in ids_in(await insider.run(SEARCH, {"q": private.word}), "Task")
    assert private.task_id in ids_in(await insider.run(VIEWER_TASKS), "Task")
    # When the outsider lists, filters and searches
    by_project = await outsider.run(TASKS, {"filter": {"projectIds": [gid("Project", private.project_id)]}})
    everything = await outsider.run(TASKS, {"filter": None})
    search = await outsider.run(SEARCH, {"q": private.word})
    projects = await outsider.run(PROJECTS)
    # Then PRIV and its task appear nowhere: the lists hold exactly the outsider's projects' tasks
    own_projects = await project_ids_of(services, users["outsider"])
    assert private.project_id not in own_projects
    assert by_project["data"]["tasks"] == {"totalCount": 0, "nodes": []}
    assert ids_in(everything, "Task") == await task_ids_in(services, own_projects)
    assert search["data"]["searchTasks"] == {"totalCount": 0, "nodes": []}
    assert ids_in(projects, "Project") == own_projects
    # And the insider's page, seen by the outsider, shows only projects both are in, and no PRIV task
    work = await outsider.run(USER_WORK, {"id": gid("User", users["insider"])})
    shared = await project_ids_of(services, users["insider"]) & await project_ids_of(
        services, users["outsider"]
    )
    assert private.shared_project_id in shared
    assert {m["project"]["id"] for m in work["data"]["user"]["projects"]} == {
        gid("Project", p) for p in shared
    }
    assigned = {"data": work["data"]["user"]["assignedTasks"]}
    expected = await task_ids_in(services, own_projects, assignee_id=users["insider"])
    assert ids_in(assigned, "Task") == expected
    assert expected
    assert private.task_id not in expected


async def test_owner_and_admins_see_every_project(services: Services, private: PrivateProject) -> None:
    # Given the owner and an admin, neither a member of PRIV
    assert private.project_id not in await project_ids_of(services, private.users["admin"])
    async with services.db.read() as conn:
        statement = select(Project.id).where(Project.organization_id == private.org.organization_id)
        every_project = set((await conn.execute(statement)).scalars())
    for name in ("owner", "admin"):
        client = private.clients[name]
        # When they list projects, read PRIV's task and search for it
        projects = await client.run(PROJECTS)
        task = await client.run(TASK, {"id": gid("Task", private.task_id)})
        search = await client.run(SEARCH, {"q": private.word})
        # Then they see every project of the organization, PRIV and its task included
        assert ids_in(projects, "Project") == every_project, name
        assert task["data"]["task"]["id"] == gid("Task", private.task_id), name
        assert ids_in(search, "Task") == {private.task_id}, name


async def test_guest_sees_only_projects_they_belong_to(services: Services, private: PrivateProject) -> None:
    guest = private.clients["guest"]
    # Given a guest who is in PRIV but not in SHRD
    memberships = await project_ids_of(services, private.users["guest"])
    assert private.project_id in memberships
    assert private.shared_project_id not in memberships
    # When they list projects and tasks
    projects = await guest.run(PROJECTS)
    tasks = await guest.run(TASKS, {"filter": None})
    # Then they see exactly their own projects, and exactly those projects' tasks
    assert ids_in(projects, "Project") == memberships
    assert ids_in(tasks, "Task") == await task_ids_in(services, memberships)
    assert private.task_id in ids_in(tasks, "Task")
    # And a project they are not in reads like one that never existed
    await assert_reads_as_missing(guest, PROJECT_BY_KEY, {"key": "SHRD"}, {"key": "NOPE"})
