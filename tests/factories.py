"""Data built row by row for tests that need every relation filled (the query budget's condition)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.enums import OrgRole, ProjectRole, TaskStatus
from persistence.models import Comment, Label, Organization, Project, ProjectMember, Task, TaskLabel, User
from resolvers.context import Services

_numbers = itertools.count(1)


async def _new_id(conn: AsyncConnection, statement: Insert) -> int:
    key = (await conn.execute(statement)).inserted_primary_key
    assert key is not None
    return int(key[0])


@dataclass
class FilledOrg:
    organization_id: int
    viewer_email: str
    viewer_id: int
    other_user_id: int
    project_ids: list[int] = field(default_factory=list)
    board_task_ids: list[int] = field(default_factory=list)
    detail_task_id: int = 0


async def filled_org(
    services: Services, n: int, password: str, *, viewer_role: OrgRole = OrgRole.MEMBER
) -> FilledOrg:
    """n of everything a page lists: n projects (the viewer in each), n tasks on the first board, each
    with assignee, reporter, two labels and a comment; the first task also has n comments and n
    subtasks. Every task title contains "zebra" for search."""
    number = next(_numbers)
    now = datetime.now(UTC).replace(microsecond=0)
    password_hash = await services.passwords.hash(password)
    async with services.db.unit_of_work() as conn:
        org_id = await _new_id(conn, insert(Organization).values(slug=f"filled{number}-{n}", name="Filled"))

        async def user(name: str, role: OrgRole) -> int:
            email = f"{name}{number}-{n}@filled.test"
            values = dict(
                organization_id=org_id,
                email=email,
                name=name.title(),
                password_hash=password_hash,
                role=role,
                is_operator=False,
            )
            return await _new_id(conn, insert(User).values(**values))

        viewer_id = await user("viewer", viewer_role)
        other_id = await user("other", OrgRole.MEMBER)
        org = FilledOrg(org_id, f"viewer{number}-{n}@filled.test", viewer_id, other_id)
        for p in range(n):
            values = dict(
                organization_id=org_id, key=f"K{p}", name=f"Project {p:03}", description="d", task_counter=0
            )
            project_id = await _new_id(conn, insert(Project).values(**values))
            org.project_ids.append(project_id)
            await conn.execute(
                insert(ProjectMember),
                [
                    {"project_id": project_id, "user_id": viewer_id, "role": ProjectRole.EDITOR},
                    {"project_id": project_id, "user_id": other_id, "role": ProjectRole.EDITOR},
                ],
            )
        board = org.project_ids[0]
        labels = [
            await _new_id(conn, insert(Label).values(project_id=board, name=name, color="#123456"))
            for name in ("bug", "feature")
        ]

        async def task(number_in_project: int, parent_id: int | None) -> int:
            values = dict(
                organization_id=org_id,
                project_id=board,
                number=number_in_project,
                title=f"zebra task {number_in_project}",
                description="striped",
                status=TaskStatus.TODO,
                priority=2,
                position=float(number_in_project),
                assignee_id=viewer_id,
                reporter_id=other_id,
                due_date=date.today() + timedelta(days=number_in_project),
                parent_id=parent_id,
                version=1,
                created_at=now - timedelta(minutes=number_in_project),
                updated_at=now,
            )
            task_id = await _new_id(conn, insert(Task).values(**values))
            await conn.execute(
                insert(TaskLabel), [{"task_id": task_id, "label_id": label} for label in labels]
            )
            await conn.execute(
                insert(Comment).values(
                    task_id=task_id, author_id=other_id, body="first!", created_at=now, updated_at=now
                )
            )
            return task_id

        numbers = itertools.count(1)
        org.detail_task_id = await task(next(numbers), None)
        org.board_task_ids.append(org.detail_task_id)
        for _ in range(n - 1):
            org.board_task_ids.append(await task(next(numbers), None))
        for _ in range(n):
            await task(next(numbers), org.detail_task_id)
        extra = [
            {
                "task_id": org.detail_task_id,
                "author_id": other_id if i % 2 else viewer_id,
                "body": f"comment {i}",
                "created_at": now + timedelta(seconds=i),
                "updated_at": now,
            }
            for i in range(n - 1)
        ]
        if extra:
            await conn.execute(insert(Comment), extra)
    return org
