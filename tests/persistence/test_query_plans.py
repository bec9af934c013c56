"""EXPLAIN of every list query on MariaDB: driven by an index, never a full scan or a sort of the join.

The pitfall: MariaDB chose a filesort over the whole `tasks JOIN projects` for a list ordered
by id; the queries use LEFT JOINs so `tasks` stays the driving table and the order comes off an index.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import OrgRole
from persistence.models import ProjectMember, Task, User
from persistence.queries import comments as comment_queries
from persistence.queries import projects as project_queries
from persistence.queries import tasks as task_queries
from persistence.queries.scope import Scope
from persistence.seed import SeededOrganization, SeedSizes
from persistence.values import (
    PageRequest,
    ProjectIncludes,
    TaskFilter,
    TaskIncludes,
    TaskOrder,
    TaskOrderField,
)
from resolvers.context import Services

EVERYTHING = TaskIncludes(assignee=True, reporter=True, labels=True, comment_count=True)
INDEXED_ACCESS = {"const", "eq_ref", "ref", "range", "index", "fulltext", "ref|filter", "range|filter"}


@contextmanager
def captured(services: Services) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if not statement.startswith("EXPLAIN"):
            statements.append((statement, parameters))

    engines = [engine.sync_engine for engine in services.db.engines]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", keep)


async def explain(conn: AsyncConnection, statement: str, parameters: Any) -> list[dict[str, Any]]:
    result = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return [dict(row._mapping) for row in result]


@pytest.fixture(scope="module")
async def big_org(
    make_org_module: Callable[[SeedSizes], Awaitable[SeededOrganization]], services: Services
) -> SeededOrganization:
    org = await make_org_module(
        SeedSizes(users=60, projects=12, tasks=3000, comments_per_task=1.0, members_per_project=6)
    )
    async with services.db.read() as conn:
        await conn.execute(
            text("ANALYZE TABLE tasks, projects, project_members, users, comments, task_labels")
        )
    return org


def _scopes(org: SeededOrganization) -> list[Scope]:
    owner, member = org.user_ids[0], org.user_ids[3]
    return [Scope(org.organization_id, owner, True), Scope(org.organization_id, member, False)]


def _main_tasks_reads(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        row
        for row in plan
        if row["table"] == "tasks" and row["select_type"] in ("PRIMARY", "SIMPLE", "DERIVED")
    ]


@pytest.mark.parametrize("order_field", list(TaskOrderField))
async def test_task_lists_read_tasks_through_an_index(
    services: Services, big_org: SeededOrganization, order_field: TaskOrderField
) -> None:
    # Given the organization-wide list and a project's board, for an admin and for a member
    with captured(services) as statements:
        async with services.db.read() as conn:
            for scope in _scopes(big_org):
                for descending in (True, False):
                    order = TaskOrder(order_field, descending)
                    await task_queries.list_tasks(
                        conn, scope, TaskFilter(), order, PageRequest(50), EVERYTHING, with_total=True
                    )
                    project = TaskFilter(project_ids=(big_org.project_ids[0],))
                    await task_queries.list_tasks(
                        conn, scope, project, order, PageRequest(50), EVERYTHING, with_total=False
                    )
            # When each statement is explained
            plans = [await explain(conn, s, p) for s, p in statements]
    # Then no plan reads the tasks table of the page without an index
    assert plans
    for plan in plans:
        for row in _main_tasks_reads(plan):
            assert row["type"] in INDEXED_ACCESS, plan


@pytest.mark.parametrize("admin", [True, False])
async def test_task_lists_join_and_aggregate_only_the_page(
    services: Services, big_org: SeededOrganization, admin: bool
) -> None:
    # Given a list for an owner or for a member, in each order
    scope = _scopes(big_org)[0 if admin else 1]
    with captured(services) as statements:
        async with services.db.read() as conn:
            for field in TaskOrderField:
                order = TaskOrder(field)
                await task_queries.list_tasks(
                    conn, scope, TaskFilter(), order, PageRequest(50), EVERYTHING, with_total=False
                )
            plans = [await explain(conn, s, p) for s, p in statements]
    # Then the page's 51 ids are picked first and drive the join: the wide rows (joins, label
    # aggregates, comment counts) are read for the page only, never sorted as a whole join
    for plan in plans:
        assert plan[0]["table"].startswith("<derived"), plan
        assert int(plan[0]["rows"]) <= 51, plan
        outer_tasks = [row for row in plan if row["table"] == "tasks" and row["select_type"] == "PRIMARY"]
        assert [(row["type"], row["key"]) for row in outer_tasks] == [("eq_ref", "PRIMARY")], plan


async def test_nested_pages_and_search_use_indexes(services: Services, big_org: SeededOrganization) -> None:
    member = _scopes(big_org)[1]
    with captured(services) as statements:
        async with services.db.read() as conn:
            users = big_org.user_ids[:5]
            await task_queries.tasks_by_parent_ids(
                conn,
                member,
                "assignee_id",
                users,
                TaskFilter(),
                TaskOrder(),
                PageRequest(20),
                EVERYTHING,
                with_total=True,
            )
            await comment_queries.comments_by_task_ids(
                conn, member, big_org.task_ids[:5], PageRequest(20), with_author=True, with_total=True
            )
            await task_queries.search_tasks(
                conn, member, "billing", TaskFilter(), 0, 20, EVERYTHING, with_total=True
            )
            await project_queries.list_projects(
                conn,
                member,
                PageRequest(20),
                ProjectIncludes(open_task_count=True, viewer_role=True),
                archived=None,
                with_total=True,
            )
            plans = [await explain(conn, s, p) for s, p in statements]
    assert len(plans) == 4
    for plan in plans:
        for row in plan:
            if row["table"] in ("tasks", "comments", "projects"):
                assert row["type"] in INDEXED_ACCESS, plan


def _tasks_reads(plan: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(row["select_type"], row["type"], row["key"]) for row in plan if row["table"] == "tasks"]


async def test_a_members_search_reads_its_projects_tasks_not_every_match(
    services: Services, big_org: SeededOrganization
) -> None:
    # Given a member's search, with its total, for a word one of its tasks holds (a word of its own:
    # InnoDB weighs a word by its rarity in the whole table, which the rest of the suite changes, and
    # a word in about every task weighs nothing and matches no row)
    word = f"plan{uuid.uuid4().hex[:10]}"
    async with services.db.unit_of_work() as conn:
        # A member of the organization (not an owner or admin) and a task of one of its projects.
        pair = (
            select(ProjectMember.user_id, Task.id)
            .join(Task, Task.project_id == ProjectMember.project_id)
            .join(User, User.id == ProjectMember.user_id)
            .where(Task.id.in_(big_org.task_ids), User.role == OrgRole.MEMBER)
            .order_by(Task.id)
            .limit(1)
        )
        user_id, task = (await conn.execute(pair)).one()
        await conn.execute(update(Task).where(Task.id == task).values(title=f"Billing {word}"))
    member = Scope(big_org.organization_id, user_id, sees_all_projects=False)
    with captured(services) as statements:
        async with services.db.read() as conn:
            page, total = await task_queries.search_tasks(
                conn, member, f"billing {word}", TaskFilter(), 0, 20, EVERYTHING, with_total=True
            )
            # When its statement is explained
            plans = [await explain(conn, s, p) for s, p in statements]
    # Then one statement answered the page and its total
    assert page.rows
    assert total is not None
    assert total >= len(page.rows)
    assert len(plans) == 1
    reads = _tasks_reads(plans[0])
    # And the ranked matches read the tasks through the member's projects (the tenancy's index),
    # never through the FULLTEXT index, which would read every organization's matching rows
    ranked = [read for read in reads if read[0] == "DERIVED"]
    assert len(ranked) == 1, plans[0]
    assert ranked[0][1] in ("ref", "range"), plans[0]
    assert (ranked[0][2] or "").startswith("ix_tasks_project_id"), plans[0]
    assert all(read[1] != "fulltext" for read in reads), plans[0]
    # And the wide row (joins, labels, counts) is read for the page's ids only
    assert [read for read in reads if read[0] == "PRIMARY"] == [("PRIMARY", "eq_ref", "PRIMARY")], plans[0]


@pytest.mark.parametrize("project_filter", [False, True])
async def test_an_owners_search_reads_the_fulltext_index_unless_a_project_bounds_it(
    services: Services, big_org: SeededOrganization, project_filter: bool
) -> None:
    # Given an owner's search, over the organization or within one project
    owner = _scopes(big_org)[0]
    where = TaskFilter(project_ids=(big_org.project_ids[0],)) if project_filter else TaskFilter()
    with captured(services) as statements:
        async with services.db.read() as conn:
            await task_queries.search_tasks(conn, owner, "billing", where, 0, 20, EVERYTHING, with_total=True)
            plans = [await explain(conn, s, p) for s, p in statements]
    # Then the organization's matches come from the FULLTEXT index, a project's from the project's
    # index; either way the wide row is read for the page's ids only
    assert len(plans) == 1
    reads = _tasks_reads(plans[0])
    ranked = [read for read in reads if read[0] == "DERIVED"]
    assert len(ranked) == 1, plans[0]
    if project_filter:
        assert ranked[0][1] in ("ref", "range"), plans[0]
        assert (ranked[0][2] or "").startswith("ix_tasks_project_id"), plans[0]
    else:
        assert ranked[0][1:] == ("fulltext", "ix_tasks_fulltext"), plans[0]
    assert [read for read in reads if read[0] == "PRIMARY"] == [("PRIMARY", "eq_ref", "PRIMARY")], plans[0]
