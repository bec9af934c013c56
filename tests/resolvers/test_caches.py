"""The versioned caches through GraphQL: a write is visible on the next read, the second read is a
hit, and no entry crosses organizations or users' visibility."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from persistence.seed import SeededOrganization
from resolvers.context import Services
from schema.app import create_app
from schema.core.ids import encode_id
from tests.conftest import GraphQLClient, make_settings

TASKS = "query { tasks(first: 50) { totalCount nodes { id title assignee { name } } } }"
BOARD = "query($p: ID!) { project(id: $p) { name tasks(first: 50) { totalCount nodes { id title } } } }"
USER = "query($u: ID!) { user(id: $u) { name } }"


def hits(data_type: str) -> float:
    return REGISTRY.get_sample_value("cache_hits_total", {"data_type": data_type}) or 0.0


def misses(data_type: str) -> float:
    return REGISTRY.get_sample_value("cache_misses_total", {"data_type": data_type}) or 0.0


def member_email(org: SeededOrganization, number: int) -> str:
    slug = org.owner_email.removeprefix("owner@").removesuffix(".test")
    return f"user{number}@{slug}.taskql.dev"


async def owner_of(gql: GraphQLClient, org: SeededOrganization) -> GraphQLClient:
    return gql.as_user(await gql.login(org.owner_email))


@pytest.fixture
async def resolvers_gql(services: Services) -> AsyncIterator[GraphQLClient]:
    """The app with the resolvers engine: task lists, projects and users are read through their
    caches there (the compiled engine reads them with one statement and no cache)."""
    settings = services.settings.model_copy(update={"execution_engine": "resolvers"})
    app = create_app(services=replace(services, settings=settings))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        yield GraphQLClient(http)


async def test_a_task_write_is_visible_on_the_next_list_read(
    resolvers_gql: GraphQLClient, make_org: Any
) -> None:
    # Given an owner whose task list is cached (the second read is a hit)
    org = await make_org()
    owner = await owner_of(resolvers_gql, org)
    first = await owner.run(TASKS)
    before = hits("task_list")
    assert (await owner.run(TASKS))["data"] == first["data"]
    assert hits("task_list") > before
    # When the owner creates a task
    created = await owner.run(
        'mutation($p: ID!) { taskCreate(input: {projectId: $p, title: "fresh cached"}) { errors { code } } }',
        {"p": encode_id("Project", org.project_ids[0])},
    )
    assert created["data"]["taskCreate"]["errors"] == []
    # Then the very next read shows it, in the list and in the count
    after = (await owner.run(TASKS))["data"]["tasks"]
    assert after["totalCount"] == first["data"]["tasks"]["totalCount"] + 1
    assert "fresh cached" in [node["title"] for node in after["nodes"]]


async def test_a_profile_write_is_visible_on_the_next_read(
    resolvers_gql: GraphQLClient, make_org: Any
) -> None:
    # Given a user profile read twice (a hit the second time)
    org = await make_org()
    owner = await owner_of(resolvers_gql, org)
    variables = {"u": encode_id("User", org.user_ids[0])}
    await owner.run(USER, variables)
    before = hits("user_profile")
    await owner.run(USER, variables)
    assert hits("user_profile") > before
    # When the user renames themself
    renamed = await owner.run(
        'mutation { userProfileUpdate(input: {name: "Renamed Owner"}) { errors { code } } }'
    )
    assert renamed["data"]["userProfileUpdate"]["errors"] == []
    # Then the next read, and the task rows that show the user, have the new name
    assert (await owner.run(USER, variables))["data"]["user"]["name"] == "Renamed Owner"


async def test_a_project_write_is_visible_on_the_next_read(
    resolvers_gql: GraphQLClient, make_org: Any
) -> None:
    # Given a board read twice (project and task page hits the second time)
    org = await make_org()
    owner = await owner_of(resolvers_gql, org)
    variables = {"p": encode_id("Project", org.project_ids[0])}
    await owner.run(BOARD, variables)
    before = (hits("project"), hits("task_list"))
    await owner.run(BOARD, variables)
    assert hits("project") > before[0]
    assert hits("task_list") > before[1]
    # When the project is renamed
    mutation = 'mutation($p: ID!) { projectUpdate(input: {id: $p, name: "Renamed"}) { errors { code } } }'
    assert (await owner.run(mutation, variables))["data"]["projectUpdate"]["errors"] == []
    # Then the next read has the new name
    assert (await owner.run(BOARD, variables))["data"]["project"]["name"] == "Renamed"


async def test_a_removed_member_stops_seeing_the_project_at_once(
    resolvers_gql: GraphQLClient, make_org: Any
) -> None:
    # Given a member who sees a project (the first read fills the project, the second their permission
    # check, the third hits both)
    org = await make_org()
    owner = await owner_of(resolvers_gql, org)
    # The first plain member of some project (the seed draws each project's members at random).
    for number in range(3, len(org.user_ids)):
        member_id = org.user_ids[number]
        member = resolvers_gql.as_user(await resolvers_gql.login(member_email(org, number)))
        listed = await member.run("query { viewer { projects(first: 10) { nodes { id } } } }")
        if listed["data"]["viewer"]["projects"]["nodes"]:
            break
    project_id = listed["data"]["viewer"]["projects"]["nodes"][0]["id"]
    for _ in range(2):
        await member.run(BOARD, {"p": project_id})
    before = hits("permission")
    seen = await member.run(BOARD, {"p": project_id})
    assert seen["data"]["project"] is not None
    assert hits("permission") > before
    # When the owner removes them from it
    removal = await owner.run(
        "mutation($p: ID!, $u: ID!) { projectMemberRemove(input: {projectId: $p, userId: $u}) "
        "{ errors { code } } }",
        {"p": project_id, "u": encode_id("User", member_id)},
    )
    assert removal["data"]["projectMemberRemove"]["errors"] == []
    # Then their next read does not see the project nor its tasks
    gone = await member.run(BOARD, {"p": project_id})
    assert gone.get("data") is None or gone["data"]["project"] is None, gone
    titles = {n["id"] for n in (await member.run(TASKS))["data"]["tasks"]["nodes"]}
    board = (await owner.run(BOARD, {"p": project_id}))["data"]["project"]["tasks"]["nodes"]
    assert titles.isdisjoint({n["id"] for n in board})


async def test_no_entry_crosses_organizations_or_visibility(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    # Given two organizations whose owners have read their lists (cached), and a member of the first
    first, second = await make_org(), await make_org()
    owner_a, owner_b = await owner_of(gql, first), await owner_of(gql, second)
    list_a = (await owner_a.run(TASKS))["data"]["tasks"]
    list_b = (await owner_b.run(TASKS))["data"]["tasks"]
    member = gql.as_user(await gql.login(member_email(first, 3)))
    # When each reads again, and the member reads the same list and another org's project
    again_b = (await owner_b.run(TASKS))["data"]["tasks"]
    member_list = (await member.run(TASKS))["data"]["tasks"]
    foreign = await member.run(BOARD, {"p": encode_id("Project", second.project_ids[0])})
    # Then each sees its own organization only, and the member no more than their projects
    assert again_b == list_b
    assert {n["id"] for n in list_a["nodes"]}.isdisjoint({n["id"] for n in list_b["nodes"]})
    assert member_list["totalCount"] <= list_a["totalCount"]
    assert foreign.get("data") is None or foreign["data"]["project"] is None


async def test_with_the_task_list_cache_off_lists_are_read_from_the_database(
    services: Services, make_org: Any
) -> None:
    # Given the app with the task-list cache switched off, and an owner signed in to it
    org = await make_org()
    uncached = replace(services, settings=make_settings(task_list_cache_enabled=False))
    transport = httpx.ASGITransport(app=create_app(services=uncached), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://taskql.test") as http:
        owner = await owner_of(GraphQLClient(http), org)
        before = (hits("task_list"), misses("task_list"))
        # When the owner reads the list twice
        first, second = await owner.run(TASKS), await owner.run(TASKS)
    # Then both answers are the same and each read the list from MariaDB (the assignees come from
    # their own cache the second time), without looking in the task-list cache or filling it
    assert "errors" not in second, second
    assert second["data"] == first["data"]
    assert 0 < len(second["data"]["tasks"]["nodes"]) == second["data"]["tasks"]["totalCount"]
    assert second["extensions"]["sqlStatements"] >= 1
    assert (hits("task_list"), misses("task_list")) == before
    cached = [key async for key in services.cache.redis.scan_iter(f"cache:task_list:{org.organization_id}:*")]
    assert cached == []


async def test_a_sign_in_fills_the_session_cache_without_a_lookup_certain_to_miss(
    gql: GraphQLClient, make_org: Any
) -> None:
    # Given an organization's owner who has not signed in
    org = await make_org()
    before = (hits("session"), misses("session"))
    # When the owner signs in and then sends a request with the new token
    owner = await owner_of(gql, org)
    assert "errors" not in await owner.run("query { viewer { user { id } } }")
    # Then the sign-in looked nothing up (its session is new) and the request found the session cached
    assert misses("session") == before[1]
    assert hits("session") == before[0] + 1
