"""A small organization built row by row for the scheduled-job tests: one project, users with the
access each test needs, and tasks with exactly the dates and states a scan looks at."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Insert, insert

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.models import Organization, Project, ProjectMember, Task, User
from resolvers.context import Services

_numbers = itertools.count(1)


async def _new_id(services: Services, statement: Insert) -> int:
    async with services.db.unit_of_work() as conn:
        key = (await conn.execute(statement)).inserted_primary_key
    assert key is not None
    return int(key[0])


@dataclass
class Office:
    services: Services
    organization_id: int
    project_id: int
    slug: str
    task_numbers: Any = None

    async def user(
        self, name: str, *, member: bool = True, role: OrgRole = OrgRole.MEMBER, deactivated: bool = False
    ) -> tuple[int, str]:
        """A user (and their email), a member of the project unless ``member`` is False."""
        email = f"{name}@{self.slug}.test"
        values = dict(
            organization_id=self.organization_id,
            email=email,
            name=name.title(),
            password_hash="not-used",
            role=role,
            is_operator=False,
            deactivated_at=datetime.now(UTC) if deactivated else None,
        )
        user_id = await _new_id(self.services, insert(User).values(**values))
        if member:
            async with self.services.db.unit_of_work() as conn:
                await conn.execute(
                    insert(ProjectMember).values(
                        project_id=self.project_id, user_id=user_id, role=ProjectRole.EDITOR
                    )
                )
        return user_id, email

    async def task(
        self,
        title: str,
        *,
        assignee_id: int | None,
        reporter_id: int,
        due: date | None = None,
        status: TaskStatus = TaskStatus.TODO,
        completed_at: datetime | None = None,
        deleted_at: datetime | None = None,
        parent_id: int | None = None,
    ) -> int:
        if self.task_numbers is None:
            self.task_numbers = itertools.count(1)
        values = dict(
            organization_id=self.organization_id,
            project_id=self.project_id,
            number=next(self.task_numbers),
            title=title,
            description="",
            status=status,
            priority=0,
            position=0.0,
            assignee_id=assignee_id,
            reporter_id=reporter_id,
            due_date=due,
            parent_id=parent_id,
            version=1,
            completed_at=completed_at,
            deleted_at=deleted_at,
        )
        return await _new_id(self.services, insert(Task).values(**values))


async def office(services: Services, prefix: str) -> Office:
    slug = f"{prefix}{next(_numbers)}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    org_id = await _new_id(services, insert(Organization).values(slug=slug, name=slug))
    values = dict(organization_id=org_id, key="OF", name=f"Project <{slug}>", description="", task_counter=0)
    project_id = await _new_id(services, insert(Project).values(**values))
    return Office(services, org_id, project_id, slug)
