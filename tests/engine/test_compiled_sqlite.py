"""The same differential run on the embedded default's SQLite: the bench's queries, every covered
field, a missing task and a member's view agree with the resolvers (random documents:
test_differential.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from persistence.models import Task
from persistence.seed import SeededOrganization, seed_organization
from resolvers.context import Services
from schema.core.ids import encode_id
from tests.conftest import PASSWORD, SMALL, embedded_services
from tests.engine.differential import Engines, member_with_some_projects
from tests.engine.test_compiled_connections import DETAIL, ORDERS, SEARCH, search_terms, walk
from tests.engine.test_compiled_engine import BY_ID, EVERYTHING, LIST


@dataclass
class Embedded:
    services: Services
    org: SeededOrganization
    owner: Engines


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    async with embedded_services(tmp_path / "embedded.db", "embedded") as services:
        org = await seed_organization(
            services.db,
            services.passwords,
            SMALL,
            slug="compiled",
            owner_email="owner@compiled.test",
            password=PASSWORD,
            rng_seed=7,
        )
        both = Engines.over(services)
        yield Embedded(services, org, await both.as_user(services, org.user_ids[0], PASSWORD))
        await both.close()


async def test_the_bench_queries_agree_on_sqlite(embedded: Embedded) -> None:
    listed = await embedded.owner.same(LIST)
    assert len(listed["data"]["tasks"]["nodes"]) == len(embedded.org.task_ids)
    answer = await embedded.owner.compiled.run(LIST)
    assert answer["extensions"]["sqlStatements"] == 1
    for task_id in embedded.org.task_ids[:3]:
        await embedded.owner.same(BY_ID, {"id": encode_id("Task", task_id)})
    missing = await embedded.owner.same(BY_ID, {"id": encode_id("Task", 10**12)})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_every_covered_field_agrees_on_sqlite(embedded: Embedded) -> None:
    async with embedded.services.db.unit_of_work() as conn:
        whole = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        await conn.execute(update(Task).where(Task.id == embedded.org.task_ids[0]).values(completed_at=whole))
    for task_id in embedded.org.task_ids[:3]:
        for flag in (True, False):
            variables = {"id": encode_id("Task", task_id), "withProject": flag, "noLabels": not flag}
            await embedded.owner.same(EVERYTHING, variables)


async def test_a_member_sees_only_their_projects_on_sqlite(embedded: Embedded) -> None:
    member = await embedded.owner.as_user(
        embedded.services, await member_with_some_projects(embedded.services, embedded.org), PASSWORD
    )
    listed = await member.same("{ tasks(first: 100) { totalCount nodes { id project { key } } } }")
    assert listed["data"]["tasks"]["totalCount"] < len(embedded.org.task_ids)


async def test_connections_walk_the_same_pages_on_sqlite(embedded: Embedded) -> None:
    for field in ORDERS:
        for direction in ("ASC", "DESC"):
            variables = {"order": {"field": field, "direction": direction}}
            forward = await walk(embedded.owner, variables, backward=False)
            assert len(forward) == len(embedded.org.task_ids)
            assert await walk(embedded.owner, variables, backward=True) == forward
    member = await embedded.owner.as_user(
        embedded.services, await member_with_some_projects(embedded.services, embedded.org), PASSWORD
    )
    assert 0 < len(await walk(member, {}, backward=False)) < len(embedded.org.task_ids)


async def test_a_tasks_nested_lists_on_sqlite(embedded: Embedded) -> None:
    for task_id in embedded.org.task_ids[:10]:
        variables = {"id": encode_id("Task", task_id)}
        answer = await embedded.owner.same(DETAIL, variables)
        comments = answer["data"]["task"]["comments"]
        if comments["edges"]:
            end = comments["pageInfo"]["endCursor"]
            await embedded.owner.same(
                DETAIL, {**variables, "first": 1, "after": comments["edges"][0]["cursor"]}
            )
            await embedded.owner.same(DETAIL, {**variables, "last": 1, "before": end})


async def test_search_agrees_on_sqlite(embedded: Embedded) -> None:
    for term in await search_terms(embedded.services, embedded.org):
        page = await embedded.owner.same(SEARCH, {"q": term, "first": 3})
        cursor = page["data"]["searchTasks"]["pageInfo"]["endCursor"]
        await embedded.owner.same(SEARCH, {"q": term, "first": 3, "after": cursor})
