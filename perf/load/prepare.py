"""Before a load run: the load's database made, migrated and seeded with its population
(perf/load/population.py: several organizations, and the owner-heavy one), the operations registered as
trusted documents, every seeded user made an editor of at least one project (so each virtual user can
write), and the plan each virtual user follows."""

from __future__ import annotations

import random
from collections import defaultdict

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from perf.load.plan import LoadPlan, PlannedUser
from perf.load.population import Population, chosen, ensure_population
from perf.shared import config
from perf.shared.load_documents import register
from persistence.enums import OrgRole, ProjectRole
from persistence.models import Project, ProjectMember, Task, User
from persistence.models.base import utcnow
from persistence.settings import Settings
from resolvers.context import Services
from schema.app import build_services
from schema.core.ids import encode_id

_members = ProjectMember.__table__
_projects = Project.__table__
_tasks = Task.__table__
_users = User.__table__
EDITING = (ProjectRole.ADMIN, ProjectRole.EDITOR)
SEES_ALL = (OrgRole.OWNER, OrgRole.ADMIN)  # they edit every project of their organization
# Tasks of each project the plan hands out (to get, comment on, and one each to update).
TASKS_PER_PROJECT = 40
TASKS_PER_USER = 20


async def ensure_database(name: str) -> None:
    server = create_async_engine(config.MARIADB_SERVER_URL)
    try:
        async with server.begin() as conn:
            charset = "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` {charset}"))
    finally:
        await server.dispose()


async def _editable_projects(services: Services, organization_id: int) -> dict[int, list[int]]:
    """Each user's projects it may write to: every project for an owner or admin, else those where it
    is editor or admin, after making each user without one an editor of a project it is not yet in
    (round robin, so the extra editors spread over the projects)."""
    async with services.db.read() as conn:
        in_organization = _users.c.organization_id == organization_id
        users = (
            await conn.execute(
                select(_users.c.id, _users.c.role).where(in_organization).order_by(_users.c.id)
            )
        ).all()
        user_ids = [int(user.id) for user in users]
        of_organization = select(_projects.c.id).where(_projects.c.organization_id == organization_id)
        projects = sorted(int(p) for p in (await conn.execute(of_organization)).scalars())
        rows = (
            await conn.execute(
                select(_members.c.user_id, _members.c.project_id, _members.c.role).where(
                    _members.c.user_id.in_(user_ids)
                )
            )
        ).all()
    member_of: dict[int, set[int]] = defaultdict(set)
    editable: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        member_of[row.user_id].add(row.project_id)
        if row.role in EDITING:
            editable[row.user_id].append(row.project_id)
    for user in users:
        if user.role in SEES_ALL:
            editable[user.id] = list(projects)
    added = []
    for n, user_id in enumerate(u for u in user_ids if not editable[u]):
        project_id = next(p for k in range(len(projects)) if (p := projects[(n + k) % len(projects)])
                          not in member_of[user_id])  # fmt: skip
        added.append({"project_id": project_id, "user_id": user_id, "role": ProjectRole.EDITOR,
                      "created_at": utcnow()})  # fmt: skip
        editable[user_id].append(project_id)
    if added:
        async with services.db.unit_of_work() as conn:
            await conn.execute(insert(ProjectMember), added)
    return {user_id: sorted(editable[user_id]) for user_id in user_ids}


async def _project_tasks(services: Services, project_ids: set[int]) -> dict[int, list[tuple[int, int]]]:
    """The first live tasks of each project, with their versions: (id, version)."""
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(_tasks.c.project_id, _tasks.c.id, _tasks.c.version)
            .where(_tasks.c.project_id.in_(project_ids), _tasks.c.deleted_at.is_(None))
            .order_by(_tasks.c.project_id, _tasks.c.id)
        )
        for row in rows:
            if len(found[row.project_id]) < TASKS_PER_PROJECT:
                found[row.project_id].append((int(row.id), int(row.version)))
    return found


async def _emails(services: Services, user_ids: list[int]) -> dict[int, str]:
    async with services.db.read() as conn:
        rows = await conn.execute(select(_users.c.id, _users.c.email).where(_users.c.id.in_(user_ids)))
        return {int(row.id): str(row.email) for row in rows}


def _round_robin(per_organization: list[dict[int, list[int]]]) -> dict[int, list[int]]:
    """The users of every organization interleaved: the first users of a run (a run of 100 takes the
    plan's first 100) come from every organization, not all from the first."""
    queues = [list(users.items()) for users in per_organization]
    ordered: dict[int, list[int]] = {}
    for n in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if n < len(queue):
                ordered[queue[n][0]] = queue[n][1]
    return ordered


async def build_plan(services: Services, organization_ids: list[int]) -> LoadPlan:
    editable = _round_robin([await _editable_projects(services, o) for o in organization_ids])
    tasks = await _project_tasks(services, {p for projects in editable.values() for p in projects})
    emails = await _emails(services, list(editable))
    rng = random.Random(11)  # the same plan on every run of the same data
    taken: set[int] = set()
    users = []
    for user_id, projects in editable.items():
        pool = [task for project_id in projects for task in tasks[project_id]]
        # Its own task: the first of its projects' tasks no other user updates.
        own_id, own_version = next(task for task in pool if task[0] not in taken)
        taken.add(own_id)
        seen = rng.sample(pool, min(TASKS_PER_USER, len(pool)))
        users.append(
            PlannedUser(
                email=emails[user_id],
                project_ids=[encode_id("Project", p) for p in projects],
                task_ids=[encode_id("Task", task_id) for task_id, _ in seen],
                own_task_id=encode_id("Task", own_id),
                own_task_version=own_version,
            )
        )
    return LoadPlan(password=config.PASSWORD, users=users)


async def prepare(settings: Settings, database: str, population: Population) -> LoadPlan:
    """Everything the run needs in MariaDB and Redis; returns the virtual users' plan."""
    await ensure_database(database)
    services = build_services(settings)
    try:
        # The run's own Redis index: sessions, caches and buckets of earlier runs go.
        await services.cache.redis.flushdb()
        organizations = await ensure_population(services)
        await register(services.db, settings)
        return await build_plan(services, chosen(organizations, population))
    finally:
        await services.cache.redis.aclose()
        await services.db.dispose()
