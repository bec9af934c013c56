"""labelCreate, labelUpdate, labelDelete, taskLabelAdd, taskLabelRemove."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import label_mutations as resolvers
from resolvers import tasks as task_reads
from resolvers.context import RequestContext
from resolvers.label_mutations import LabelOutcome
from resolvers.mutations import MutationResult
from schema.core.ids import decode_id, encode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.core.selection import child_names
from schema.projects.types import Label
from schema.tasks.types import Task, task_includes

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `labelCreate`.")
class LabelCreateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `labelUpdate`.")
class LabelUpdateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `labelDelete`.")
class LabelDeleteError(MutationError):
    pass


@strawberry.type(description="An expected failure of `taskLabelAdd`.")
class TaskLabelAddError(MutationError):
    pass


@strawberry.type(description="An expected failure of `taskLabelRemove`.")
class TaskLabelRemoveError(MutationError):
    pass


async def _label(info: Ctx, outcome: LabelOutcome) -> Label | None:
    """The label as written when the write knew it, else as the reader sees it now (one read)."""
    if outcome.result.errors:
        return None
    label = outcome.label or await resolvers.label_or_none(info.context, outcome.result.object_id)
    return None if label is None else Label.from_values(label.id, label.name, label.color)


async def _task(info: Ctx, result: MutationResult) -> Task | None:
    """The task as the reader sees it now (after the commit), its labels included when asked for."""
    if result.errors:
        return None
    includes = task_includes(child_names(info.selected_fields))
    found = await task_reads.task_or_none(info.context, result.object_id, includes)
    return None if found is None else Task.from_record(found)


@strawberry.type(description="What `labelCreate` answers.")
class LabelCreatePayload:
    errors: list[LabelCreateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[LabelOutcome]

    @strawberry.field(description="The new label; null on errors.")
    async def label(self, info: Ctx) -> Label | None:
        return await _label(info, self._outcome)


@strawberry.type(description="What `labelUpdate` answers.")
class LabelUpdatePayload:
    errors: list[LabelUpdateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[LabelOutcome]

    @strawberry.field(description="The label as changed; null on errors.")
    async def label(self, info: Ctx) -> Label | None:
        return await _label(info, self._outcome)


@strawberry.type(description="What `labelDelete` answers.")
class LabelDeletePayload:
    errors: list[LabelDeleteError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[LabelOutcome]

    @strawberry.field(description="The deleted label's id; null on errors.")
    def deleted_label_id(self) -> strawberry.ID | None:
        result = self._outcome.result
        if result.errors or result.object_id is None:
            return None
        return strawberry.ID(encode_id("Label", result.object_id))


@strawberry.type(description="What `taskLabelAdd` answers.")
class TaskLabelAddPayload:
    errors: list[TaskLabelAddError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The task as it is now; null on errors.")
    async def task(self, info: Ctx) -> Task | None:
        return await _task(info, self._result)


@strawberry.type(description="What `taskLabelRemove` answers.")
class TaskLabelRemovePayload:
    errors: list[TaskLabelRemoveError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _result: strawberry.Private[MutationResult]

    @strawberry.field(description="The task as it is now; null on errors.")
    async def task(self, info: Ctx) -> Task | None:
        return await _task(info, self._result)


@strawberry.input(description="What `labelCreate` takes.")
class LabelCreateInput:
    project_id: strawberry.ID = strawberry.field(description="The project the label belongs to.")
    name: str = strawberry.field(description="1 to 64 characters, unique in the project.")
    color: str = strawberry.field(description="#rrggbb")


@strawberry.input(description="Only the fields given change.")
class LabelUpdateInput:
    id: strawberry.ID = strawberry.field(description="The label's id.")
    name: str | None = strawberry.field(
        default=None, description="A new name, unique in the project; null keeps it."
    )
    color: str | None = strawberry.field(
        default=None, description="A new hex color, `#rrggbb`; null keeps it."
    )


@strawberry.input(description="What `labelDelete` takes.")
class LabelDeleteInput:
    id: strawberry.ID = strawberry.field(description="The label's id.")


@strawberry.input(description="The label must be one of the task's project's.")
class TaskLabelAddInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    label_id: strawberry.ID = strawberry.field(description="A label of the task's project.")


@strawberry.input(description="What `taskLabelRemove` takes.")
class TaskLabelRemoveInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    label_id: strawberry.ID = strawberry.field(description="The label to take off.")


def _task_and_label(data: TaskLabelAddInput | TaskLabelRemoveInput) -> tuple[int, int]:
    return (
        decode_id(data.task_id, "Task", argument="input.taskId"),
        decode_id(data.label_id, "Label", argument="input.labelId"),
    )


@strawberry.type
class LabelMutation:
    @strawberry.mutation(description="Editors and admins of the project (and org owners and admins).")
    async def label_create(
        self,
        info: Ctx,
        input: MutationInput[LabelCreateInput],  # noqa: A002
    ) -> LabelCreatePayload:
        info.context.require_principal()
        project_id = decode_id(input.project_id, "Project", argument="input.projectId")
        outcome = await resolvers.create_label(info.context, project_id, input.name, input.color)
        return LabelCreatePayload(errors=errors_as(LabelCreateError, outcome.result), _outcome=outcome)

    @strawberry.mutation(description="Renames or recolors a label (editors and admins of its project).")
    async def label_update(
        self,
        info: Ctx,
        input: MutationInput[LabelUpdateInput],  # noqa: A002
    ) -> LabelUpdatePayload:
        info.context.require_principal()
        label_id = decode_id(input.id, "Label", argument="input.id")
        outcome = await resolvers.update_label(info.context, label_id, input.name, input.color)
        return LabelUpdatePayload(errors=errors_as(LabelUpdateError, outcome.result), _outcome=outcome)

    @strawberry.mutation(description="The label is removed from every task that had it.")
    async def label_delete(
        self,
        info: Ctx,
        input: MutationInput[LabelDeleteInput],  # noqa: A002
    ) -> LabelDeletePayload:
        info.context.require_principal()
        label_id = decode_id(input.id, "Label", argument="input.id")
        outcome = await resolvers.delete_label(info.context, label_id)
        return LabelDeletePayload(errors=errors_as(LabelDeleteError, outcome.result), _outcome=outcome)

    @strawberry.mutation(description="Adding a label the task already has changes nothing.")
    async def task_label_add(
        self,
        info: Ctx,
        input: MutationInput[TaskLabelAddInput],  # noqa: A002
    ) -> TaskLabelAddPayload:
        info.context.require_principal()
        result = await resolvers.add_task_label(info.context, *_task_and_label(input))
        return TaskLabelAddPayload(errors=errors_as(TaskLabelAddError, result), _result=result)

    @strawberry.mutation(description="Removing a label the task does not have changes nothing.")
    async def task_label_remove(
        self,
        info: Ctx,
        input: MutationInput[TaskLabelRemoveInput],  # noqa: A002
    ) -> TaskLabelRemovePayload:
        info.context.require_principal()
        result = await resolvers.remove_task_label(info.context, *_task_and_label(input))
        return TaskLabelRemovePayload(errors=errors_as(TaskLabelRemoveError, result), _result=result)
