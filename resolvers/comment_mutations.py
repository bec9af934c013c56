"""Comment writes: create, update, delete. Each checks permission inside its one write statement; one
read of the comment follows (the task for the event and the payload on success, the reason on failure).
"""

from __future__ import annotations

from dataclasses import dataclass

from persistence.queries import comment_writes as queries
from persistence.queries import task_writes
from persistence.queries.comment_writes import CommentState
from persistence.queries.records import comment_record
from persistence.queries.rows import AnyRow
from persistence.records import CommentRecord
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.mutations import ErrorCode, MutationResult
from resolvers.writes import Write, run_write

BODY_MAX = 10_000
EVENT = "task.commented"


@dataclass(frozen=True)
class CommentOutcome:
    result: MutationResult
    # The comment as the write left it, read in the same unit of work; None when the payload must
    # read it (a create, a replay) or there is nothing to show (a failure, a delete).
    comment: AnyRow | None = None

    @property
    def refused(self) -> bool:
        return self.result.refused

    @property
    def written(self) -> CommentRecord | None:
        return None if self.comment is None else comment_record(self.comment, with_author=True)


def _replayed(event: AnyRow) -> CommentOutcome:
    return CommentOutcome(MutationResult(event.payload.get("comment_id")))


def _checked_body(body: str) -> str | None:
    text = body.strip()
    return text if 0 < len(text) <= BODY_MAX else None


def _bad_body() -> CommentOutcome:
    message = f"a comment has 1 to {BODY_MAX} characters (not counting surrounding whitespace)"
    return CommentOutcome(MutationResult.failed("body", ErrorCode.INVALID, message))


async def create_comment(ctx: RequestContext, task_id: int, body: str) -> CommentOutcome:
    """Anyone who may edit the task's project may comment on it; viewers may not."""
    text = _checked_body(body)
    if text is None:
        return _bad_body()
    scope = ctx.require_principal().scope

    async def write_comment(write: Write) -> CommentOutcome:
        comment_id = await queries.insert_comment(write.conn, scope, task_id, text, write.now)
        if comment_id is None:
            return await _why_not_created(write, task_id)
        await write.record_task(EVENT, task_id, {"comment_id": comment_id, "action": "created"})
        return CommentOutcome(MutationResult(comment_id))

    return await run_write(ctx, write_comment, on_replay=_replayed)


async def _why_not_created(write: Write, task_id: int) -> CommentOutcome:
    state = await task_writes.task_write_state(write.conn, write.principal.scope, task_id)
    if state is None or state.deleted:
        return CommentOutcome(MutationResult.failed("taskId", ErrorCode.NOT_FOUND, "task not found"))
    if not state.may_edit:
        raise Forbidden("you may not comment in this project")
    # The task changed between the write and this read (deleted, permissions revoked and restored).
    return _changed_meanwhile("taskId")


async def update_comment(ctx: RequestContext, comment_id: int, body: str) -> CommentOutcome:
    """Only the author edits a comment (and only while they may still write to the project)."""
    text = _checked_body(body)
    if text is None:
        return _bad_body()
    scope = ctx.require_principal().scope

    async def write_comment(write: Write) -> CommentOutcome:
        changed = await queries.edit_comment(write.conn, scope, comment_id, text, write.now)
        state = await queries.comment_state(write.conn, scope, comment_id)
        if not changed:
            return _why_not_changed(state, may=state is not None and state.may_edit, action="edit")
        state = _written(state)
        await write.record_task(EVENT, state.task_id, {"comment_id": comment_id, "action": "updated"})
        return CommentOutcome(MutationResult(comment_id), state.comment)

    return await run_write(ctx, write_comment, on_replay=_replayed)


async def delete_comment(ctx: RequestContext, comment_id: int) -> CommentOutcome:
    """Soft. The author may delete their comment, and so may the project's admins and the
    organization's owners and admins (moderation)."""
    scope = ctx.require_principal().scope

    async def write_comment(write: Write) -> CommentOutcome:
        changed = await queries.delete_comment(write.conn, scope, comment_id, write.now)
        state = await queries.comment_state(write.conn, scope, comment_id)
        if not changed:
            return _why_not_changed(state, may=state is not None and state.may_delete, action="delete")
        state = _written(state)
        await write.record_task(EVENT, state.task_id, {"comment_id": comment_id, "action": "deleted"})
        return CommentOutcome(MutationResult(comment_id))

    return await run_write(ctx, write_comment, on_replay=_replayed)


def _written(state: CommentState | None) -> CommentState:
    # The write holds the comment's row lock and read locks on its task: it cannot vanish between.
    if state is None:
        raise AssertionError("a comment just written must be visible to its writer")
    return state


def _why_not_changed(state: CommentState | None, *, may: bool, action: str) -> CommentOutcome:
    if state is None or state.deleted:
        return CommentOutcome(MutationResult.failed("id", ErrorCode.NOT_FOUND, "comment not found"))
    if not may:
        raise Forbidden(f"you may not {action} this comment")
    return _changed_meanwhile("id")


def _changed_meanwhile(field_name: str) -> CommentOutcome:
    """The write saw a refusal its follow-up read no longer sees: another transaction committed in
    between. Nothing was written; the client may simply try again."""
    message = "something this write depends on changed while it ran; nothing was written, try again"
    return CommentOutcome(MutationResult.failed(field_name, ErrorCode.CONFLICT, message))


async def comment_or_none(ctx: RequestContext, comment_id: int | None) -> CommentRecord | None:
    """The live comment as the principal sees it now (one read), for a payload."""
    if comment_id is None:
        return None
    async with ctx.db.read() as conn:
        state = await queries.comment_state(conn, ctx.require_principal().scope, comment_id)
    return None if state is None or state.deleted else comment_record(state.comment, with_author=True)
