"""``ranked_matches`` built once with the viewer and the words as bind parameters, over an alias of
the tasks table (as a compiled operation builds it), answers every viewer and query as the search
does."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, String, bindparam, select

from persistence.enums import OrgRole
from persistence.models import ProjectMember, Task, User
from persistence.queries import tasks as task_queries
from persistence.queries.scope import Scope
from persistence.queries.search import ranked_matches, search_words
from persistence.seed import SeededOrganization, SeedSizes
from persistence.values import TaskFilter, TaskIncludes
from resolvers.context import Services

SIZES = SeedSizes(users=12, projects=4, tasks=300, comments_per_task=0.0, members_per_project=4)
IDS = TaskIncludes(fields=frozenset({"id"}))


async def _viewers(services: Services, org: SeededOrganization) -> list[Scope]:
    """The owner, and two members who belong to some projects."""
    async with services.db.read() as conn:
        members = (
            await conn.execute(
                select(User.id)
                .join(ProjectMember, ProjectMember.user_id == User.id)
                .where(User.organization_id == org.organization_id, User.role == OrgRole.MEMBER)
                .group_by(User.id)
                .order_by(User.id)
                .limit(2)
            )
        ).scalars()
        member_scopes = [Scope(org.organization_id, int(user_id), False) for user_id in members]
    return [Scope(org.organization_id, org.user_ids[0], True), *member_scopes]


@pytest.mark.parametrize("sees_all_projects", [True, False])
async def test_one_statement_with_bind_parameters_serves_every_viewer_of_a_kind(
    services: Services, make_org: Any, sees_all_projects: bool
) -> None:
    # Given two organizations, and the ranked matches built once for a kind of viewer, with the
    # viewer and the words as bind parameters, ordered as the search orders them
    orgs = [await make_org(SIZES), await make_org(SIZES)]
    ranked = ranked_matches(
        services.db.engine.dialect.name,
        bindparam("organization_id", type_=Integer),
        sees_all_projects,
        bindparam("user_id", type_=Integer),
        bindparam("words", type_=String),
        tasks=Task.__table__.alias("rows"),
    ).subquery()
    statement = select(ranked.c.id).order_by(ranked.c.score.desc(), ranked.c.id.desc())
    checked = 0
    async with services.db.read() as conn:
        for org in orgs:
            for scope in await _viewers(services, org):
                if scope.sees_all_projects is not sees_all_projects:
                    continue
                for query in ("billing", "deploy invoice"):
                    words = search_words(conn.dialect.name, query)
                    parameters = {
                        "organization_id": scope.organization_id,
                        "user_id": scope.user_id,
                        "words": words,
                    }
                    # When it runs for a viewer and a query
                    found = [int(i) for i in (await conn.execute(statement, parameters)).scalars()]
                    # Then it finds what the search finds for them, in the same order
                    page, total = await task_queries.search_tasks(
                        conn, scope, query, TaskFilter(), 0, 1000, IDS, with_total=True
                    )
                    assert found == [row.id for row in page.rows], (scope, query)
                    assert total == len(found)
                    checked += bool(found)
    assert checked >= 2
