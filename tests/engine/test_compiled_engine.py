"""The compiled engine gives the resolvers' answers, on MariaDB: the bench's two queries, every covered
field with aliases, fragments, @skip/@include and __typename, missing and hidden tasks, a member who
sees some projects only (random documents: test_differential.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, update

from persistence.models import Attachment, Task
from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.core.ids import encode_id
from schema.engine.compiler import operations
from tests.conftest import PASSWORD, SMALL, GraphQLClient
from tests.engine.differential import Engines, member_with_some_projects

MakeOrg = Callable[..., Awaitable[SeededOrganization]]

LIST = "{ tasks(first: 50) { nodes { title status project { name } assignee { name email } } } }"
BY_ID = "query ($id: ID!) { task(id: $id) { title status project { name } assignee { name email } } }"
EVERYTHING = """
query Everything($id: ID!, $withProject: Boolean!, $noLabels: Boolean!) {
  one: task(id: $id) { ...TaskFields }
  tasks(first: 20) {
    __typename totalCount
    nodes {
      ...TaskFields
      ... on Task { alias: title project @include(if: $withProject) { key } }
      labels @skip(if: $noLabels) { name }
    }
  }
}
fragment TaskFields on Task {
  __typename id key number title description status priority position dueDate version createdAt
  updatedAt completedAt commentCount
  project { __typename id key name description archived archivedAt createdAt updatedAt }
  assignee { __typename id name email role deactivated createdAt }
  reporter { id name email role deactivated createdAt }
  labels { __typename id name color }
}
"""


async def test_the_bench_queries_compile_and_agree(engines: Engines, org: SeededOrganization) -> None:
    listed = await engines.same(LIST)
    assert len(listed["data"]["tasks"]["nodes"]) == len(org.task_ids)
    for task_id in org.task_ids[:5]:
        found = await engines.same(BY_ID, {"id": encode_id("Task", task_id)})
        assert found["data"]["task"]["title"]


async def test_the_bench_list_is_one_statement(engines: Engines) -> None:
    answer = await engines.compiled.run(LIST)
    assert answer["extensions"]["sqlStatements"] == 1


async def test_every_covered_field_agrees(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    # One timestamp on a whole second: isoformat() then shows no fraction.
    async with services.db.unit_of_work() as conn:
        whole = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        await conn.execute(update(Task).where(Task.id == org.task_ids[0]).values(completed_at=whole))
    for task_id in org.task_ids[:3]:
        for with_project in (True, False):
            for no_labels in (True, False):
                variables = {
                    "id": encode_id("Task", task_id),
                    "withProject": with_project,
                    "noLabels": no_labels,
                }
                await engines.same(EVERYTHING, variables)


async def test_missing_and_malformed_tasks(engines: Engines, org: SeededOrganization) -> None:
    missing = await engines.same(BY_ID, {"id": encode_id("Task", 10**12)})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert missing["data"] == {"task": None}
    # Values the resolvers refuse are theirs to answer.
    await engines.same(BY_ID, {"id": encode_id("Project", org.task_ids[0])}, compiled=False)
    await engines.same(BY_ID, {"id": "not an id"}, compiled=False)
    await engines.same("{ tasks(first: 100000) { totalCount } }", compiled=False)


async def test_another_organizations_task_is_not_found(
    services: Services, engines: Engines, make_org: MakeOrg
) -> None:
    other = await make_org(SMALL)
    hidden = await engines.same(BY_ID, {"id": encode_id("Task", other.task_ids[0])})
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_member_sees_only_their_projects(services: Services, org: SeededOrganization) -> None:
    both = Engines.over(services)
    try:
        # A member (not an owner or admin: persistence.seed makes users 1-2 admins).
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        listed = await member.same("{ tasks(first: 100) { totalCount nodes { id project { key } } } }")
        assert listed["data"]["tasks"]["totalCount"] < len(org.task_ids)
        hidden = 0
        for task_id in org.task_ids:
            answer = await member.same(BY_ID, {"id": encode_id("Task", task_id)})
            hidden += answer["data"]["task"] is None
        assert hidden == len(org.task_ids) - listed["data"]["tasks"]["totalCount"]
    finally:
        await both.close()


async def test_uncovered_operations_run_through_the_resolvers(engines: Engines) -> None:
    for text in (
        "{ viewer { pushDevices { id } } }",
        "{ webhooks { id } }",
    ):
        await engines.same(text, compiled=False)


BY_KEY = "query ($key: String!) { taskByKey(key: $key) { id key title labels { name } reporter { name } } }"


async def test_tasks_by_key_agree(services: Services, engines: Engines, org: SeededOrganization) -> None:
    keys = [n["key"] for n in (await engines.same(LIST.replace("title", "key")))["data"]["tasks"]["nodes"]]
    for key in keys[:5]:
        found = await engines.same(BY_KEY, {"key": key})
        assert found["data"]["taskByKey"]["key"] == key
    # Keys are read as the resolvers read them: trimmed, the project's key in any case.
    await engines.same(BY_KEY, {"key": f"  {keys[0].lower()} "})
    missing = await engines.same(BY_KEY, {"key": keys[0].split("-")[0] + "-99999"})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await engines.same(BY_KEY, {"key": "not a key"}, compiled=False)
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        hidden = [(await member.same(BY_KEY, {"key": key}))["data"]["taskByKey"] is None for key in keys]
        assert any(hidden)
        assert not all(hidden)
    finally:
        await both.close()


async def test_a_compiled_answer_over_get_is_cacheable(engines: Engines) -> None:
    async def get(client: GraphQLClient) -> httpx.Response:
        headers = {"authorization": f"Bearer {client.token}", "accept": "application/json"}
        return await client.http.get("/graphql", params={"query": LIST}, headers=headers)

    ours, theirs = await get(engines.compiled), await get(engines.resolvers)
    assert ours.status_code == theirs.status_code == 200
    assert ours.json()["data"] == theirs.json()["data"]
    assert ours.headers["etag"]
    revalidated = await engines.compiled.http.get(
        "/graphql",
        params={"query": LIST},
        headers={"authorization": f"Bearer {engines.compiled.token}", "if-none-match": ours.headers["etag"]},
    )
    assert revalidated.status_code == 304


async def test_a_failed_statement_is_the_fields_internal_error(
    engines: Engines, org: SeededOrganization, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> bytes:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(operations, "read_json", broken)
    one = await engines.compiled.run(BY_ID, {"id": encode_id("Task", org.task_ids[0])})
    assert one["data"] == {"task": None}
    assert [(e["path"], e["message"], e["extensions"]["code"]) for e in one["errors"]] == [
        (["task"], "Internal server error", "INTERNAL_SERVER_ERROR")
    ]
    # A non-null root's failure nulls the whole data, as graphql-core does.
    listed = await engines.compiled.run(LIST)
    assert listed["data"] is None
    assert listed["errors"][0]["path"] == ["tasks"]


NODE = """
query ($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Task { title key comments(first: 1) { totalCount } }
    ... on Project { name }
    ...OnUser
  }
}
fragment OnUser on User { email }
"""


async def test_node_reads_a_task_as_task_does(engines: Engines, org: SeededOrganization) -> None:
    for task_id in org.task_ids[:3]:
        found = await engines.same(NODE, {"id": encode_id("Task", task_id)})
        assert found["data"]["node"]["__typename"] == "Task"
    missing = await engines.same(NODE, {"id": encode_id("Task", 10**12)})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await engines.same(NODE, {"id": "not an id"}, compiled=False)
    await engines.same(NODE, {"id": encode_id("Nothing", 1)}, compiled=False)


VIEWER = """
query ($first: Int, $order: TaskOrder) {
  viewer {
    __typename
    user { __typename id name email role deactivated createdAt }
    mine: assignedTasks(first: $first, orderBy: $order) {
      totalCount pageInfo { hasNextPage endCursor } nodes { key assignee { id } }
    }
  }
}
"""


async def test_the_viewer_and_their_tasks(
    services: Services, engines: Engines, org: SeededOrganization
) -> None:
    for first in (None, 2):
        await engines.same(VIEWER, {"first": first, "order": {"field": "PRIORITY", "direction": "ASC"}})
    both = Engines.over(services)
    try:
        member = await both.as_user(services, await member_with_some_projects(services, org), PASSWORD)
        answer = await member.same(VIEWER, {"first": 50})
        assert answer["data"]["viewer"]["user"]["role"] == "MEMBER"
    finally:
        await both.close()


ATTACHMENTS = """
query ($id: ID!) {
  task(id: $id) { attachments { __typename id filename contentType sizeBytes sha256 createdAt downloadUrl } }
}
"""


async def test_a_tasks_attachments(services: Services, engines: Engines, org: SeededOrganization) -> None:
    # Two files on a task, the second older (the list goes oldest first), one on another task.
    now = datetime.now(UTC)
    rows = [
        (org.task_ids[0], "b.pdf", now),
        (org.task_ids[0], 'a "quoted" ü.txt', now - timedelta(hours=1)),
        (org.task_ids[1], "c.png", now),
    ]
    async with services.db.unit_of_work() as conn:
        for task_id, name, created in rows:
            await conn.execute(
                insert(Attachment).values(
                    task_id=task_id,
                    uploader_id=org.user_ids[0],
                    filename=name,
                    content_type="application/octet-stream",
                    size_bytes=1234,
                    sha256="ab" * 32,
                    storage_key=f"k/{name}",
                    created_at=created,
                )
            )
    answer = await engines.same(ATTACHMENTS, {"id": encode_id("Task", org.task_ids[0])})
    assert [a["filename"] for a in answer["data"]["task"]["attachments"]] == ['a "quoted" ü.txt', "b.pdf"]
    await engines.same(ATTACHMENTS, {"id": encode_id("Task", org.task_ids[2])})
