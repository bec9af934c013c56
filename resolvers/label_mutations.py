"""Label writes (create, update, delete) and task labelling (add, remove). Editors and admins of the
project write them, as do the organization's owners and admins; viewers do not. Each checks permission
inside its write statement; only when nothing changed does a read say why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from persistence.queries import label_writes as queries
from persistence.queries import task_writes
from persistence.queries.label_writes import DuplicateLabelName, LabelRow, LabelState, LinkOutcome
from persistence.queries.rows import AnyRow
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.writes import Write, run_write

NAME_MAX = 64
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class LabelOutcome:
    result: MutationResult
    # The label as written (known or read in the unit of work); None when the payload must read
    # it (a replay) or there is nothing to show.
    label: LabelRow | None = None

    @property
    def refused(self) -> bool:
        return self.result.refused


def _failed(field_name: str | None, code: ErrorCode, message: str) -> LabelOutcome:
    return LabelOutcome(MutationResult.failed(field_name, code, message))


def _replayed(event: AnyRow) -> LabelOutcome:
    return LabelOutcome(MutationResult(event.payload.get("label_id")))


def _taken(name: str) -> LabelOutcome:
    return _failed("name", ErrorCode.CONFLICT, f"the project already has a label named {name!r}")


def _checked(name: str | None, color: str | None) -> tuple[dict[str, Any], list[FieldError]]:
    """The values to store (the name trimmed, the color in lower case) and what is wrong with them."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    if name is not None:
        values["name"] = name.strip()
        if not 0 < len(values["name"]) <= NAME_MAX:
            errors.append(FieldError("name", ErrorCode.INVALID, f"a name has 1 to {NAME_MAX} characters"))
    if color is not None:
        values["color"] = color.lower()
        if _COLOR.fullmatch(color) is None:
            errors.append(FieldError("color", ErrorCode.INVALID, "a color is #rrggbb (hexadecimal)"))
    return values, errors


async def create_label(ctx: RequestContext, project_id: int, name: str, color: str) -> LabelOutcome:
    values, errors = _checked(name, color)
    if errors:
        return LabelOutcome(MutationResult(None, errors))
    scope = ctx.require_principal().scope

    async def write_label(write: Write) -> LabelOutcome:
        try:
            label_id = await queries.insert_label(write.conn, scope, project_id, **values)
        except DuplicateLabelName:
            return _taken(values["name"])
        if label_id is None:
            return await _why_not_created(write, project_id)
        await write.record("label.created", project_id=project_id, payload={"label_id": label_id, **values})
        # Everything the payload shows is known here: no read needed.
        return LabelOutcome(MutationResult(label_id), LabelRow(label_id, project_id, **values))

    return await run_write(ctx, write_label, on_replay=_replayed)


async def _why_not_created(write: Write, project_id: int) -> LabelOutcome:
    state = await task_writes.project_write_state(write.conn, write.principal.scope, project_id, None, None)
    if state is None:
        return _failed("projectId", ErrorCode.NOT_FOUND, "project not found")
    if not state.may_edit:
        raise Forbidden("you may not edit labels in this project")
    if state.archived:
        return _failed("projectId", ErrorCode.INVALID, "the project is archived")
    return _changed_meanwhile("projectId")


async def update_label(
    ctx: RequestContext, label_id: int, name: str | None, color: str | None
) -> LabelOutcome:
    """A new name, a new color or both."""
    values, errors = _checked(name, color)
    if not values:
        errors.append(FieldError(None, ErrorCode.INVALID, "name a new name, a new color or both"))
    if errors:
        return LabelOutcome(MutationResult(label_id, errors))
    scope = ctx.require_principal().scope

    async def write_label(write: Write) -> LabelOutcome:
        try:
            changed = await queries.update_label(write.conn, scope, label_id, values)
        except DuplicateLabelName:
            return _taken(values["name"])
        # Read on both paths: it gives the event its project and the payload its label, or says why.
        state = await queries.label_state(write.conn, scope, label_id)
        if not changed:
            return _why_not_changed(state)
        if state is None:  # the write holds the label's row lock: it cannot vanish in between
            raise AssertionError("a label just written must be visible to its writer")
        payload = {"label_id": label_id, "changes": values}
        await write.record("label.updated", project_id=state.label.project_id, payload=payload)
        return LabelOutcome(MutationResult(label_id), state.label)

    return await run_write(ctx, write_label, on_replay=_replayed)


async def delete_label(ctx: RequestContext, label_id: int) -> LabelOutcome:
    """The label goes, and every task loses it, in one unit of work."""
    scope = ctx.require_principal().scope

    async def write_label(write: Write) -> LabelOutcome:
        deleted = await queries.delete_label(write.conn, scope, label_id)
        if deleted is None:
            return _why_not_changed(await queries.label_state(write.conn, scope, label_id))
        payload = {"label_id": label_id, "name": deleted.name}
        await write.record("label.deleted", project_id=deleted.project_id, payload=payload)
        return LabelOutcome(MutationResult(label_id))

    return await run_write(ctx, write_label, on_replay=_replayed)


def _why_not_changed(state: LabelState | None) -> LabelOutcome:
    if state is None:
        return _failed("id", ErrorCode.NOT_FOUND, "label not found")
    if not state.may_edit:
        raise Forbidden("you may not edit labels in this project")
    return _changed_meanwhile("id")


def _changed_meanwhile(field_name: str) -> LabelOutcome:
    """The write saw a refusal its follow-up read no longer sees: another transaction committed in
    between. Nothing was written; the client may simply try again."""
    message = "something this write depends on changed while it ran; nothing was written, try again"
    return _failed(field_name, ErrorCode.CONFLICT, message)


async def label_or_none(ctx: RequestContext, label_id: int | None) -> LabelRow | None:
    """The label as the principal sees it now (one read), for a payload that has not got it."""
    if label_id is None:
        return None
    async with ctx.db.read() as conn:
        state = await queries.label_state(conn, ctx.require_principal().scope, label_id)
    return None if state is None else state.label


# --- taskLabelAdd, taskLabelRemove -------------------------------------------------------------------

LABELLED = "task.labelled"


def _task_replayed(event: AnyRow) -> MutationResult:
    return MutationResult(event.task_id)


async def add_task_label(ctx: RequestContext, task_id: int, label_id: int) -> MutationResult:
    """Adding a label the task already has succeeds and changes nothing (no event either)."""
    scope = ctx.require_principal().scope

    async def link(write: Write) -> MutationResult:
        outcome = await queries.add_task_label(write.conn, scope, task_id, label_id)
        if outcome is LinkOutcome.REFUSED:
            return await _why_not_linked(write, task_id, label_id) or _link_changed_meanwhile()
        if outcome is LinkOutcome.ADDED:
            await write.record_task(LABELLED, task_id, {"label_id": label_id, "action": "added"})
        return MutationResult(task_id)

    return await run_write(ctx, link, on_replay=_task_replayed)


async def remove_task_label(ctx: RequestContext, task_id: int, label_id: int) -> MutationResult:
    """Removing a label the task does not have succeeds and changes nothing (no event either)."""
    scope = ctx.require_principal().scope

    async def unlink(write: Write) -> MutationResult:
        if await queries.remove_task_label(write.conn, scope, task_id, label_id):
            await write.record_task(LABELLED, task_id, {"label_id": label_id, "action": "removed"})
            return MutationResult(task_id)
        # Nothing removed: a refusal, or a link that was not there (which is fine).
        return await _why_not_linked(write, task_id, label_id) or MutationResult(task_id)

    return await run_write(ctx, unlink, on_replay=_task_replayed)


async def _why_not_linked(write: Write, task_id: int, label_id: int) -> MutationResult | None:
    """The refusal a link write met, or None when every check passes now."""
    state = await queries.task_label_state(write.conn, write.principal.scope, task_id, label_id)
    if state is None:
        return MutationResult.failed("taskId", ErrorCode.NOT_FOUND, "task not found")
    if not state.may_edit:
        raise Forbidden("you may not edit tasks in this project")
    if not state.label_visible:
        return MutationResult.failed("labelId", ErrorCode.NOT_FOUND, "label not found")
    if not state.label_in_project:
        message = "the label belongs to another project than the task"
        return MutationResult.failed("labelId", ErrorCode.INVALID, message)
    return None


def _link_changed_meanwhile() -> MutationResult:
    message = "something this write depends on changed while it ran; nothing was written, try again"
    return MutationResult.failed("labelId", ErrorCode.CONFLICT, message)
