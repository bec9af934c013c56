"""taskCreate, taskUpdate, taskMove, taskAssign, taskDelete."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry.types import Info

from persistence.values import TaskDraft
from resolvers import task_mutations as resolvers
from resolvers import tasks as task_reads
from resolvers.context import RequestContext
from resolvers.mutations import MutationResult
from schema.core.enums import TaskStatus
from schema.core.ids import decode_id, encode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.core.payload_reads import Completed, compiled_read
from schema.core.selection import child_names
from schema.tasks.types import Task, task_includes

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `taskCreate`.")
class TaskCreateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `taskUpdate`.")
class TaskUpdateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `taskMove`.")
class TaskMoveError(MutationError):
    pass


@strawberry.type(description="An expected failure of `taskAssign`.")
class TaskAssignError(MutationError):
    pass


@strawberry.type(description="An expected failure of `taskDelete`.")
class TaskDeleteError(MutationError):
    pass


async def _task(info: Ctx, task_id: int | None) -> Task | Completed | None:
    """The touched task as the reader sees it now (after the commit): the compiled engine's read of
    ``task(id:)`` with this selection when it covers it, else the resolvers'."""
    if task_id is None:
        return None
    compiled = await compiled_read(info, "task", task_id)
    if compiled is not None:
        return compiled
    includes = task_includes(child_names(info.selected_fields))
    found = await task_reads.task_or_none(info.context, task_id, includes)
    return None if found is None else Task.from_record(found)


@strawberry.type(description="What `taskCreate` answers.")
class TaskCreatePayload:
    errors: list[TaskCreateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The new task; null on errors.", graphql_type=Task | None)
    async def task(self, info: Ctx) -> Task | Completed | None:
        return await _task(info, self._result.object_id)


@strawberry.type(description="What `taskUpdate` answers.")
class TaskUpdatePayload:
    errors: list[TaskUpdateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(
        graphql_type=Task | None,
        description="The task after the change; on a version conflict, as it is now.",
    )
    async def task(self, info: Ctx) -> Task | Completed | None:
        return await _task(info, self._result.object_id)


@strawberry.type(description="What `taskMove` answers.")
class TaskMovePayload:
    errors: list[TaskMoveError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(
        graphql_type=Task | None, description="The task after the move; on a version conflict, as it is now."
    )
    async def task(self, info: Ctx) -> Task | Completed | None:
        return await _task(info, self._result.object_id)


@strawberry.type(description="What `taskAssign` answers.")
class TaskAssignPayload:
    errors: list[TaskAssignError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(
        graphql_type=Task | None,
        description="The task after the change; on a version conflict, as it is now.",
    )
    async def task(self, info: Ctx) -> Task | Completed | None:
        return await _task(info, self._result.object_id)


@strawberry.type(description="What `taskDelete` answers.")
class TaskDeletePayload:
    errors: list[TaskDeleteError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The deleted task's id; null on errors.")
    def deleted_task_id(self) -> strawberry.ID | None:
        if self._result.errors or self._result.object_id is None:
            return None
        return strawberry.ID(encode_id("Task", self._result.object_id))


@strawberry.input(description="What `taskCreate` takes.")
class TaskCreateInput:
    project_id: strawberry.ID = strawberry.field(description="The project to add the task to.")
    title: str = strawberry.field(description="One line, 1 to 200 characters.")
    description: str = strawberry.field(default="", description="Free text (markdown); may be empty.")
    status: TaskStatus = strawberry.field(
        default=TaskStatus.TODO, description="Its column on the board; TODO by default."
    )
    priority: int = strawberry.field(default=0, description="0 (none) to 4 (urgent).")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A member of the project, or null."
    )
    due_date: date | None = strawberry.field(default=None, description="When it is due, or null.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="A task of the same project to be a subtask of, or null."
    )


@strawberry.input(description="Only the fields given change; `null` clears dueDate and parentId.")
class TaskUpdateInput:
    id: strawberry.ID = strawberry.field(description="The task's id.")
    version: int = strawberry.field(description="The version you read: a stale one is CONFLICT.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="A new title; null keeps it.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new description; null keeps it."
    )
    priority: int | None = strawberry.field(
        default=strawberry.UNSET, description="A new priority, 0 to 4; null keeps it."
    )
    due_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="A new due date; null keeps it."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A new parent task of the same project; null keeps it."
    )


@strawberry.input(description="What `taskMove` takes.")
class TaskMoveInput:
    id: strawberry.ID = strawberry.field(description="The task's id.")
    version: int = strawberry.field(description="The version you read: a stale one is CONFLICT.")
    status: TaskStatus | None = strawberry.field(default=None, description="Its new column; null keeps it.")
    position: float | None = strawberry.field(
        default=None, description="Where in the column; kept when omitted."
    )


@strawberry.input(description="What `taskAssign` takes.")
class TaskAssignInput:
    id: strawberry.ID = strawberry.field(description="The task's id.")
    version: int = strawberry.field(description="The version you read: a stale one is CONFLICT.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description="null unassigns.")


@strawberry.input(description="What `taskDelete` takes.")
class TaskDeleteInput:
    id: strawberry.ID = strawberry.field(description="The task's id.")
    version: int = strawberry.field(description="The version you read: a stale one is CONFLICT.")


def _optional_id(value: strawberry.ID | None, type_name: str, argument: str) -> int | None:
    return None if value is None else decode_id(value, type_name, argument=argument)


def _update_values(data: TaskUpdateInput) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ("title", "description", "priority", "due_date"):
        value = getattr(data, name)
        if value is not strawberry.UNSET:
            if value is None and name != "due_date":
                continue  # only dueDate and parentId can be cleared
            values[name] = value
    if data.parent_id is not strawberry.UNSET:
        values["parent_id"] = _optional_id(data.parent_id, "Task", "input.parentId")
    return values


@strawberry.type
class TaskMutation:
    @strawberry.mutation(
        description=(
            "A new task in a project (editors and admins of the project); its key "
            "is the project's key and the next number."
        )
    )
    async def task_create(
        self,
        info: Ctx,
        input: MutationInput[TaskCreateInput],  # noqa: A002
    ) -> TaskCreatePayload:
        info.context.require_principal()
        draft = TaskDraft(
            project_id=decode_id(input.project_id, "Project", argument="input.projectId"),
            title=input.title,
            description=input.description,
            status=TaskStatus(input.status),
            priority=input.priority,
            assignee_id=_optional_id(input.assignee_id, "User", "input.assigneeId"),
            due_date=input.due_date,
            parent_id=_optional_id(input.parent_id, "Task", "input.parentId"),
        )
        result = await resolvers.create_task(info.context, draft)
        return TaskCreatePayload(errors=errors_as(TaskCreateError, result), _result=result)

    @strawberry.mutation(
        description=(
            "Changes a task's fields; `version` must be the task's current one (CONFLICT otherwise)."
        )
    )
    async def task_update(
        self,
        info: Ctx,
        input: MutationInput[TaskUpdateInput],  # noqa: A002
    ) -> TaskUpdatePayload:
        info.context.require_principal()
        task_id = decode_id(input.id, "Task", argument="input.id")
        result = await resolvers.update_task(info.context, task_id, input.version, _update_values(input))
        return TaskUpdatePayload(errors=errors_as(TaskUpdateError, result), _result=result)

    @strawberry.mutation(description="A new status and/or position on the board.")
    async def task_move(
        self,
        info: Ctx,
        input: MutationInput[TaskMoveInput],  # noqa: A002
    ) -> TaskMovePayload:
        info.context.require_principal()
        task_id = decode_id(input.id, "Task", argument="input.id")
        status = None if input.status is None else TaskStatus(input.status)
        result = await resolvers.move_task(info.context, task_id, input.version, status, input.position)
        return TaskMovePayload(errors=errors_as(TaskMoveError, result), _result=result)

    @strawberry.mutation(
        description=("Assigns the task to a member of its project, or unassigns it with a null assigneeId.")
    )
    async def task_assign(
        self,
        info: Ctx,
        input: MutationInput[TaskAssignInput],  # noqa: A002
    ) -> TaskAssignPayload:
        info.context.require_principal()
        task_id = decode_id(input.id, "Task", argument="input.id")
        assignee = _optional_id(input.assignee_id, "User", "input.assigneeId")
        result = await resolvers.assign_task(info.context, task_id, input.version, assignee)
        return TaskAssignPayload(errors=errors_as(TaskAssignError, result), _result=result)

    @strawberry.mutation(description="Soft delete: the task leaves every list; its history stays.")
    async def task_delete(
        self,
        info: Ctx,
        input: MutationInput[TaskDeleteInput],  # noqa: A002
    ) -> TaskDeletePayload:
        info.context.require_principal()
        task_id = decode_id(input.id, "Task", argument="input.id")
        result = await resolvers.delete_task(info.context, task_id, input.version)
        return TaskDeletePayload(errors=errors_as(TaskDeleteError, result), _result=result)
