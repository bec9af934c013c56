"""Task writes: create, update, move, assign, delete. Each checks permission and validity inside its
one write statement; only when nothing changed does a second read say why."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from persistence.enums import TaskStatus
from persistence.models.base import utcnow
from persistence.queries import task_writes as queries
from persistence.queries.rows import AnyRow
from persistence.values import TaskDraft
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.writes import Write, run_write

TITLE_MAX = 500
DESCRIPTION_MAX = 50_000


def _replayed(event: AnyRow) -> MutationResult:
    return MutationResult(event.task_id)


def _check_text(title: str | None, description: str | None) -> list[FieldError]:
    errors = []
    if title is not None and not 0 < len(title.strip()) <= TITLE_MAX:
        errors.append(FieldError("title", ErrorCode.INVALID, f"a title has 1 to {TITLE_MAX} characters"))
    if description is not None and len(description) > DESCRIPTION_MAX:
        errors.append(FieldError("description", ErrorCode.INVALID, f"at most {DESCRIPTION_MAX} characters"))
    return errors


def _check_priority(priority: int | None) -> list[FieldError]:
    if priority is not None and not 0 <= priority <= 4:
        return [FieldError("priority", ErrorCode.INVALID, "priority runs from 0 (none) to 4 (urgent)")]
    return []


async def create_task(ctx: RequestContext, draft: TaskDraft) -> MutationResult:
    errors = _check_text(draft.title, draft.description) + _check_priority(draft.priority)
    if errors:
        return MutationResult(None, errors)
    scope = ctx.require_principal().scope
    draft = TaskDraft(**{**draft.__dict__, "title": draft.title.strip()})

    async def body(write: Write) -> MutationResult:
        task_id = await queries.insert_task(write.conn, scope, draft, write.now)
        if task_id is None:
            return await _why_not_created(write, draft)
        payload: dict[str, Any] = {"title": draft.title}
        if draft.assignee_id is not None:
            payload["assignee_id"] = draft.assignee_id  # whom the relay notifies
        await write.record_task("task.created", task_id, payload)
        return MutationResult(task_id)

    return await run_write(ctx, body, on_replay=_replayed)


async def _why_not_created(write: Write, draft: TaskDraft) -> MutationResult:
    state = await queries.project_write_state(
        write.conn, write.principal.scope, draft.project_id, draft.assignee_id, draft.parent_id
    )
    if state is None:
        return MutationResult.failed("projectId", ErrorCode.NOT_FOUND, "project not found")
    if not state.may_edit:
        raise Forbidden("you may not edit tasks in this project")
    if state.archived:
        return MutationResult.failed("projectId", ErrorCode.INVALID, "the project is archived")
    if not state.assignee_ok:
        return MutationResult.failed("assigneeId", ErrorCode.INVALID, "the assignee cannot see this project")
    return MutationResult.failed("parentId", ErrorCode.INVALID, "the parent is not a task of this project")


@dataclass(frozen=True)
class TaskChange:
    """One write to one task at a known version: the columns to set and the event it makes."""

    task_id: int
    version: int
    values: dict[str, Any]
    event: str


async def change_task(ctx: RequestContext, change: TaskChange) -> MutationResult:
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        if not await queries.update_task(
            write.conn, scope, change.task_id, change.version, change.values, write.now
        ):
            return await _why_not_changed(write, change)
        await write.record_task(change.event, change.task_id, _payload(change))
        return MutationResult(change.task_id)

    return await run_write(ctx, body, on_replay=_replayed)


def _payload(change: TaskChange) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    return {"changes": {name: plain(value) for name, value in change.values.items()}}


async def _why_not_changed(write: Write, change: TaskChange) -> MutationResult:
    state = await queries.task_write_state(write.conn, write.principal.scope, change.task_id)
    if state is None or state.deleted:
        return MutationResult.failed("id", ErrorCode.NOT_FOUND, "task not found")
    if not state.may_edit:
        raise Forbidden("you may not edit tasks in this project")
    if state.version != change.version:
        message = f"the task changed since version {change.version}; it is now at version {state.version}"
        return MutationResult.failed("version", ErrorCode.CONFLICT, message, object_id=change.task_id)
    if "assignee_id" in change.values:
        return MutationResult.failed("assigneeId", ErrorCode.INVALID, "the assignee cannot see this project")
    return MutationResult.failed("parentId", ErrorCode.INVALID, "the parent is not a task of this project")


async def update_task(
    ctx: RequestContext, task_id: int, version: int, values: dict[str, Any]
) -> MutationResult:
    """Title, description, priority, due date and parent; each only when given."""
    errors = _check_text(values.get("title"), values.get("description")) + _check_priority(
        values.get("priority")
    )
    if not values:
        errors.append(FieldError(None, ErrorCode.INVALID, "name at least one field to change"))
    if errors:
        return MutationResult(task_id, errors)
    if "title" in values:
        values = {**values, "title": values["title"].strip()}
    return await change_task(ctx, TaskChange(task_id, version, values, "task.updated"))


async def move_task(
    ctx: RequestContext, task_id: int, version: int, status: TaskStatus | None, position: float | None
) -> MutationResult:
    """A new status column and/or a new place in it (the client picks a position between neighbours)."""
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = status.value
        values["completed_at"] = utcnow() if status is TaskStatus.DONE else None
    if position is not None:
        if not math.isfinite(position):
            return MutationResult.failed(
                "position", ErrorCode.INVALID, "a position is a finite number", task_id
            )
        values["position"] = position
    if not values:
        return MutationResult.failed(None, ErrorCode.INVALID, "name a status, a position or both", task_id)
    return await change_task(ctx, TaskChange(task_id, version, values, "task.moved"))


async def assign_task(
    ctx: RequestContext, task_id: int, version: int, assignee_id: int | None
) -> MutationResult:
    """Someone who can see the project, or nobody."""
    return await change_task(ctx, TaskChange(task_id, version, {"assignee_id": assignee_id}, "task.assigned"))


async def delete_task(ctx: RequestContext, task_id: int, version: int) -> MutationResult:
    """Soft: the row stays (its activity too) until the retention cleanup purges it."""
    return await change_task(ctx, TaskChange(task_id, version, {"deleted_at": utcnow()}, "task.deleted"))
