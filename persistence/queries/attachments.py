from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models import Attachment, Task
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project

ATTACHMENT_FIELDS = (
    "id",
    "task_id",
    "uploader_id",
    "filename",
    "content_type",
    "size_bytes",
    "sha256",
    "created_at",
)


async def attachments_by_task_ids(
    conn: AsyncConnection, scope: Scope, task_ids: Sequence[int]
) -> Sequence[AnyRow]:
    attachments, tasks = Attachment.__table__, Task.__table__
    statement = (
        select(*[attachments.c[name] for name in ATTACHMENT_FIELDS])
        .select_from(attachments.join(tasks, tasks.c.id == attachments.c.task_id))
        .where(
            attachments.c.task_id.in_(task_ids),
            tasks.c.organization_id == scope.organization_id,
            tasks.c.deleted_at.is_(None),
            visible_project(scope, tasks.c.project_id),
        )
        .order_by(attachments.c.created_at, attachments.c.id)
    )
    return (await conn.execute(statement)).all()


async def attachment_by_id(conn: AsyncConnection, scope: Scope, attachment_id: int) -> AnyRow | None:
    """One attachment with its storage key, if its task is live and visible to the scope (else None:
    hidden and missing read alike)."""
    found = await attachments_by_ids(conn, scope, [attachment_id])
    return found[0] if found else None


async def attachments_by_ids(
    conn: AsyncConnection, scope: Scope, attachment_ids: Sequence[int]
) -> Sequence[AnyRow]:
    """``attachment_by_id`` for many ids in one statement: the visible ones."""
    attachments, tasks = Attachment.__table__, Task.__table__
    statement = (
        select(*[attachments.c[name] for name in ATTACHMENT_FIELDS], attachments.c.storage_key)
        .select_from(attachments.join(tasks, tasks.c.id == attachments.c.task_id))
        .where(
            attachments.c.id.in_(attachment_ids),
            tasks.c.organization_id == scope.organization_id,
            tasks.c.deleted_at.is_(None),
            visible_project(scope, tasks.c.project_id),
        )
    )
    return (await conn.execute(statement)).all()
