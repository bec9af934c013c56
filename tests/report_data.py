"""A project with tasks whose report figures are known in advance, and people who may or may not read it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import OrgRole, ReportKind, ReportStatus, TaskStatus
from persistence.models import Report, Task, User
from resolvers.context import Services
from tests.conftest import PASSWORD
from tests.factories import filled_org

_numbers = itertools.count(1)


@dataclass
class ReportWorld:
    organization_id: int
    project_id: int
    # In the same organization: a second project the viewer reads too.
    other_project_id: int
    viewer_id: int
    viewer_email: str
    other_id: int
    # In the organization, in no project.
    outsider_email: str
    # Another organization's member of all its projects.
    foreigner_email: str
    this_monday: date


def this_monday(now: datetime) -> date:
    today = now.date()
    return today - timedelta(days=today.weekday())


async def report_world(services: Services) -> ReportWorld:
    """``filled_org`` (two projects; the board has 4 open TODO tasks of "Viewer", due in 1-4 days) plus
    the tasks below. The board's figures: backlog 1, todo 4, in_progress 1, in_review 1, done 4,
    canceled 1; Other 4 (in_progress, in_review, 2 done), Viewer 6 (4 todo, done, canceled),
    unassigned 2 (backlog, done); 2 overdue; done 1 this ISO week and 2 the week before."""
    org = await filled_org(services, 2, PASSWORD)
    foreign = await filled_org(services, 1, PASSWORD)
    now = datetime.now(UTC)
    today, monday = now.date(), this_monday(now)
    midnight = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    board, second = org.project_ids
    viewer, other = org.viewer_id, org.other_user_id
    numbers = itertools.count(100)
    password_hash = await services.passwords.hash(PASSWORD)
    async with services.db.unit_of_work() as conn:
        outsider = await _user(conn, org.organization_id, "outsider", password_hash)

        async def task(status: TaskStatus, assignee: int | None, project: int = board, **values: Any) -> None:
            await conn.execute(
                insert(Task).values(
                    organization_id=org.organization_id,
                    project_id=project,
                    number=next(numbers),
                    title=f"{status.value} task",
                    description="",
                    status=status,
                    priority=1,
                    position=0.0,
                    assignee_id=assignee,
                    reporter_id=other,
                    version=1,
                    created_at=now - timedelta(days=120),
                    updated_at=now,
                    **values,
                )
            )

        await task(TaskStatus.DONE, viewer, completed_at=midnight + timedelta(seconds=1))
        # The last second of the previous ISO week (Sunday), and earlier that week.
        await task(TaskStatus.DONE, other, completed_at=midnight - timedelta(seconds=1))
        await task(TaskStatus.DONE, other, completed_at=midnight - timedelta(days=7) + timedelta(hours=1))
        # Done 12 weeks before this one: outside the 12 weeks shown (this one and the 11 before).
        await task(TaskStatus.DONE, None, completed_at=midnight - timedelta(weeks=12))
        await task(TaskStatus.IN_PROGRESS, other, due_date=today - timedelta(days=3))
        await task(TaskStatus.BACKLOG, None, due_date=today - timedelta(days=1))
        # Closed or due today: not overdue.
        await task(TaskStatus.CANCELED, viewer, due_date=today - timedelta(days=5))
        await task(TaskStatus.IN_REVIEW, other, due_date=today)
        # Deleted: counted nowhere. In another project: not in this project's report.
        await task(TaskStatus.TODO, viewer, due_date=today - timedelta(days=10), deleted_at=now)
        await task(TaskStatus.TODO, viewer, project=second, due_date=today - timedelta(days=3))
    return ReportWorld(
        organization_id=org.organization_id,
        project_id=board,
        other_project_id=second,
        viewer_id=viewer,
        viewer_email=org.viewer_email,
        other_id=other,
        outsider_email=outsider,
        foreigner_email=foreign.viewer_email,
        this_monday=monday,
    )


async def _user(conn: AsyncConnection, organization_id: int, name: str, password_hash: str) -> str:
    email = f"{name}{next(_numbers)}-{organization_id}@reports.test"
    await conn.execute(
        insert(User).values(
            organization_id=organization_id,
            email=email,
            name=name.title(),
            password_hash=password_hash,
            role=OrgRole.MEMBER,
            is_operator=False,
        )
    )
    return email


async def insert_report(services: Services, world: ReportWorld, status: ReportStatus) -> int:
    """A report row made directly (no job): for states a request would not leave at once."""
    async with services.db.unit_of_work() as conn:
        result = await conn.execute(
            insert(Report).values(
                organization_id=world.organization_id,
                project_id=world.project_id,
                requested_by=world.viewer_id,
                kind=ReportKind.STATUS,
                status=status,
                attempts=0,
                created_at=datetime.now(UTC),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])
