"""Attachment writes. The insert carries its permission check (as a comment's does): the task must be
live, visible to the scope and editable by it, or the row is refused and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Attachment, Task
from persistence.queries.guards import insert_guarded
from persistence.queries.scope import Scope, may_edit_project, visible_project

_attachments = Attachment.__table__
_tasks = Task.__table__


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str


async def insert_attachment(
    conn: AsyncConnection, scope: Scope, task_id: int, new: NewAttachment, now: datetime
) -> int | None:
    """The new attachment's id, or None when the checks refused it.

    One INSERT ... VALUES; the checks ride in the task_id value (the task's id when it is live,
    visible and editable by the scope, NULL otherwise, which the NOT NULL column refuses).
    """
    guarded_task = select(_tasks.c.id).where(
        _tasks.c.id == task_id,
        _tasks.c.organization_id == scope.organization_id,
        _tasks.c.deleted_at.is_(None),
        visible_project(scope, _tasks.c.project_id),
        may_edit_project(scope, _tasks.c.project_id),
    )
    statement = (
        insert(Attachment)
        .values(
            task_id=guarded_task.scalar_subquery(),
            uploader_id=scope.user_id,
            filename=new.filename,
            content_type=new.content_type,
            size_bytes=new.size_bytes,
            sha256=new.sha256,
            storage_key=new.storage_key,
            created_at=now,
        )
        .returning(_attachments.c.id)
    )
    return await insert_guarded(conn, statement, "attachments", "task_id")
