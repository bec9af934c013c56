"""The benchmark's data: its database made and migrated, one organization seeded once, a principal
logged in, and the task ids the by-id load picks from (all visible to that principal)."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from perf.shared import config
from perf.shared.progress import stage
from persistence.enums import OrgRole
from persistence.migrate import upgrade_to_head
from persistence.models import Organization, ProjectMember, Task, User
from persistence.queries.scope import Scope, visible_project
from persistence.seed import seed_organization
from resolvers.auth import login
from resolvers.context import RequestContext, Services

_organizations = Organization.__table__
_users = User.__table__
_tasks = Task.__table__
_members = ProjectMember.__table__


class Viewer(enum.StrEnum):
    # Sees every project: the tenancy filter is the organization alone (the cheapest SQL, so the
    # ratio shows the GraphQL layer's cost most plainly).
    OWNER = "owner"
    # Sees only the projects they belong to: the filter adds the membership subquery.
    MEMBER = "member"


@dataclass(frozen=True)
class Dataset:
    organization_id: int
    email: str
    scope: Scope
    task_ids: list[int]
    access_token: str
    session_id: str


async def ensure_database(name: str = config.DATABASE_NAME) -> None:
    """Creates the bench's database (another bench's, by ``name``) if it is missing."""
    server = create_async_engine(config.MARIADB_SERVER_URL)
    try:
        async with server.begin() as conn:
            await conn.execute(
                text(
                    f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
    finally:
        await server.dispose()


async def _organization_id(services: Services) -> int | None:
    async with services.db.read() as conn:
        found = await conn.execute(
            select(_organizations.c.id).where(_organizations.c.slug == config.ORG_SLUG)
        )
        value = found.scalar_one_or_none()
    return None if value is None else int(value)


async def ensure_seeded(services: Services) -> int:
    """Migrates, then seeds the organization unless its slug is already there (one transaction, so a
    seed that was interrupted left nothing behind and is simply redone)."""
    await upgrade_to_head(services.db.engine)
    existing = await _organization_id(services)
    if existing is not None:
        return existing
    with stage(f"seeding {config.SIZES} into {services.db.engine.url.database} (first run only)"):
        seeded = await seed_organization(
            services.db,
            services.passwords,
            config.SIZES,
            slug=config.ORG_SLUG,
            owner_email=config.OWNER_EMAIL,
            password=config.PASSWORD,
        )
        async with services.db.read() as conn:
            # Fresh statistics, so MariaDB plans the joins on the data it now holds.
            for table in ("tasks", "projects", "users", "project_members"):
                await conn.execute(text(f"ANALYZE TABLE `{table}`"))
    return seeded.organization_id


async def _member_email(services: Services, organization_id: int) -> str:
    """The member who belongs to the most projects (ties by id): a stable choice between runs."""
    async with services.db.read() as conn:
        row = (
            await conn.execute(
                select(_users.c.email)
                .join(_members, _members.c.user_id == _users.c.id)
                .where(_users.c.organization_id == organization_id, _users.c.role == OrgRole.MEMBER)
                .group_by(_users.c.id, _users.c.email)
                .order_by(text("count(*) DESC"), _users.c.id)
                .limit(1)
            )
        ).one()
    return str(row.email)


async def _visible_task_ids(services: Services, scope: Scope, sample: int) -> list[int]:
    async with services.db.read() as conn:
        ids = (
            await conn.execute(
                select(_tasks.c.id).where(
                    _tasks.c.organization_id == scope.organization_id,
                    _tasks.c.deleted_at.is_(None),
                    visible_project(scope, _tasks.c.project_id),
                )
            )
        ).scalars()
        visible = sorted(int(i) for i in ids)
    # A fixed seed: every run loads the same tasks.
    return random.Random(7).sample(visible, min(sample, len(visible)))


async def load_dataset(services: Services, viewer: Viewer, sample: int) -> Dataset:
    """The seeded data set and a fresh session (a real login) for the chosen viewer."""
    organization_id = await ensure_seeded(services)
    email = config.OWNER_EMAIL if viewer is Viewer.OWNER else await _member_email(services, organization_id)
    auth = await login(RequestContext(services), email=email, password=config.PASSWORD)
    principal = auth.principal
    task_ids = await _visible_task_ids(services, principal.scope, sample)
    return Dataset(organization_id, email, principal.scope, task_ids, auth.access_token, principal.session_id)
