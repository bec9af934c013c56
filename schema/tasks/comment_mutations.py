"""commentCreate, commentUpdate, commentDelete."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import comment_mutations as resolvers
from resolvers.comment_mutations import CommentOutcome
from resolvers.context import RequestContext
from schema.core.ids import decode_id, encode_id
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.tasks.types import Comment

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `commentCreate`.")
class CommentCreateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `commentUpdate`.")
class CommentUpdateError(MutationError):
    pass


@strawberry.type(description="An expected failure of `commentDelete`.")
class CommentDeleteError(MutationError):
    pass


async def _comment(info: Ctx, outcome: CommentOutcome) -> Comment | None:
    """The comment as written when the write read it, else as the reader sees it now (one read)."""
    if outcome.result.errors:
        return None
    found = outcome.written or await resolvers.comment_or_none(info.context, outcome.result.object_id)
    return None if found is None else Comment.from_record(found)


@strawberry.type(description="What `commentCreate` answers.")
class CommentCreatePayload:
    errors: list[CommentCreateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[CommentOutcome]

    @strawberry.field(description="The new comment; null on errors.")
    async def comment(self, info: Ctx) -> Comment | None:
        return await _comment(info, self._outcome)


@strawberry.type(description="What `commentUpdate` answers.")
class CommentUpdatePayload:
    errors: list[CommentUpdateError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[CommentOutcome]

    @strawberry.field(description="The comment as edited; null on errors.")
    async def comment(self, info: Ctx) -> Comment | None:
        return await _comment(info, self._outcome)


@strawberry.type(description="What `commentDelete` answers.")
class CommentDeletePayload:
    errors: list[CommentDeleteError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[CommentOutcome]

    @strawberry.field(description="The deleted comment's id; null on errors.")
    def deleted_comment_id(self) -> strawberry.ID | None:
        result = self._outcome.result
        if result.errors or result.object_id is None:
            return None
        return strawberry.ID(encode_id("Comment", result.object_id))


@strawberry.input(description="What `commentCreate` takes.")
class CommentCreateInput:
    task_id: strawberry.ID = strawberry.field(description="The task to comment on.")
    body: str = strawberry.field(description="1 to 10,000 characters; surrounding whitespace is dropped.")


@strawberry.input(description="What `commentUpdate` takes.")
class CommentUpdateInput:
    id: strawberry.ID = strawberry.field(description="The comment's id.")
    body: str = strawberry.field(description="1 to 10,000 characters; surrounding whitespace is dropped.")


@strawberry.input(description="What `commentDelete` takes.")
class CommentDeleteInput:
    id: strawberry.ID = strawberry.field(description="The comment's id.")


@strawberry.type
class CommentMutation:
    @strawberry.mutation(description="Editors and admins of the task's project may comment; viewers may not.")
    async def comment_create(
        self,
        info: Ctx,
        input: MutationInput[CommentCreateInput],  # noqa: A002
    ) -> CommentCreatePayload:
        info.context.require_principal()
        task_id = decode_id(input.task_id, "Task", argument="input.taskId")
        outcome = await resolvers.create_comment(info.context, task_id, input.body)
        return CommentCreatePayload(errors=errors_as(CommentCreateError, outcome.result), _outcome=outcome)

    @strawberry.mutation(description="Only the comment's author may edit it.")
    async def comment_update(
        self,
        info: Ctx,
        input: MutationInput[CommentUpdateInput],  # noqa: A002
    ) -> CommentUpdatePayload:
        info.context.require_principal()
        comment_id = decode_id(input.id, "Comment", argument="input.id")
        outcome = await resolvers.update_comment(info.context, comment_id, input.body)
        return CommentUpdatePayload(errors=errors_as(CommentUpdateError, outcome.result), _outcome=outcome)

    @strawberry.mutation(
        description="Soft delete, by the author, a project admin or an organization owner or admin."
    )
    async def comment_delete(
        self,
        info: Ctx,
        input: MutationInput[CommentDeleteInput],  # noqa: A002
    ) -> CommentDeletePayload:
        info.context.require_principal()
        comment_id = decode_id(input.id, "Comment", argument="input.id")
        outcome = await resolvers.delete_comment(info.context, comment_id)
        return CommentDeletePayload(errors=errors_as(CommentDeleteError, outcome.result), _outcome=outcome)
