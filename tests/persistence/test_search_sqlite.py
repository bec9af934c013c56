"""searchTasks on the embedded default's SQLite (FTS5): a member's ranking is the owner's within its
projects, and the statement reads the full-text matches first (a plan that read the tasks first ran
one FTS5 query per task: most of a second on the demo data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from persistence.enums import OrgRole
from persistence.models import ProjectMember, User
from persistence.queries import tasks as task_queries
from persistence.queries.scope import Scope
from persistence.seed import SeededOrganization, SeedSizes, seed_organization
from persistence.values import TaskFilter, TaskIncludes
from resolvers.context import Services
from tests.conftest import PASSWORD, embedded_services

SIZES = SeedSizes(users=12, projects=4, tasks=400, comments_per_task=0.0, members_per_project=4)
IDS = TaskIncludes(fields=frozenset({"id", "project.id"}))


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Services, SeededOrganization]]:
    async with embedded_services(tmp_path / "search.db", "search") as services:
        org = await seed_organization(
            services.db,
            services.passwords,
            SIZES,
            slug="search",
            owner_email="owner@search.test",
            password=PASSWORD,
        )
        yield services, org


async def _member(services: Services, org: SeededOrganization) -> tuple[Scope, set[int]]:
    """A member of the organization who belongs to some projects but not all, and its projects."""
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                select(ProjectMember.user_id, ProjectMember.project_id)
                .join(User, User.id == ProjectMember.user_id)
                .where(User.organization_id == org.organization_id, User.role == OrgRole.MEMBER)
                .order_by(ProjectMember.user_id)
            )
        ).all()
    user_id = rows[0].user_id
    projects = {row.project_id for row in rows if row.user_id == user_id}
    assert 0 < len(projects) < SIZES.projects
    return Scope(org.organization_id, user_id, False), projects


async def test_a_members_search_on_sqlite_is_the_owners_within_its_projects(
    seeded: tuple[Services, SeededOrganization],
) -> None:
    services, org = seeded
    owner = Scope(org.organization_id, org.user_ids[0], True)
    member, projects = await _member(services, org)
    async with services.db.read() as conn:
        for query in ("billing", "deploy invoice"):
            # When the owner and the member search, the member a few at a time
            everything, total = await task_queries.search_tasks(
                conn, owner, query, TaskFilter(), 0, 1000, IDS, with_total=True
            )
            first, member_total = await task_queries.search_tasks(
                conn, member, query, TaskFilter(), 0, 3, IDS, with_total=True
            )
            rest, _ = await task_queries.search_tasks(
                conn, member, query, TaskFilter(), 3, 1000, IDS, with_total=True
            )
            # Then the owner finds some, and the member those of its projects, in the owner's order
            visible = [row.id for row in everything.rows if row.project__id in projects]
            assert total == len(everything.rows) > len(visible) > 3, query
            assert [row.id for row in [*first.rows, *rest.rows]] == visible, query
            assert (member_total, first.has_next_page, rest.has_previous_page) == (len(visible), True, True)


async def test_the_sqlite_search_reads_the_matches_before_the_tasks(
    seeded: tuple[Services, SeededOrganization],
) -> None:
    services, org = seeded
    member, _ = await _member(services, org)
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        async with services.db.read() as conn:
            await task_queries.search_tasks(
                conn, member, "billing", TaskFilter(), 0, 20, IDS, with_total=True
            )
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 1
    statement, parameters = statements[0]
    async with services.db.read() as conn:
        plan = [
            row.detail for row in (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
        ]
    # The full-text matches are scanned once, and each task is then read by its id
    fts = [n for n, step in enumerate(plan) if step.startswith("SCAN tasks_fts VIRTUAL TABLE")]
    by_id = [n for n, step in enumerate(plan) if step.startswith("SEARCH tasks USING INTEGER PRIMARY KEY")]
    assert len(fts) == 1, plan
    assert by_id, plan
    assert fts[0] < by_id[0], plan
    assert not any(step.startswith("SCAN tasks_fts VIRTUAL TABLE INDEX 0:=") for step in plan), plan
