"""Project writes: create, update, archive, and manage members. Each checks permission and validity
inside its one write statement; only when nothing changed does a second read say why. Guests may
not create projects; project admins and organization owners/admins manage them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from persistence.enums import ProjectRole
from persistence.models.base import utcnow
from persistence.queries import project_writes as queries
from persistence.queries.project_writes import ProjectDraft, Refused
from persistence.queries.records import member_record, project_record
from persistence.queries.rows import AnyRow
from persistence.records import ProjectMemberRecord, ProjectRecord
from persistence.values import ProjectIncludes
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.user_mutations import check_name
from resolvers.writes import Write, run_write

KEY = re.compile(r"[A-Z][A-Z0-9]{1,9}")
DESCRIPTION_MAX = 10_000


@dataclass(frozen=True)
class CreatedProject(MutationResult):
    """A new project as written (the payload reads nothing back)."""

    project: ProjectRecord | None = None


@dataclass(frozen=True)
class WrittenMember(MutationResult):
    """A membership as read once after the commit: the project (``project_*``), the member's user
    (``user_*``) and ``member_role``; None if the actor can no longer see it."""

    row: AnyRow | None = None

    @property
    def project(self) -> ProjectRecord | None:
        return None if self.row is None else project_record(self.row, prefix="project_")

    @property
    def member(self) -> ProjectMemberRecord | None:
        return None if self.row is None else member_record(self.row, "user_", "member_role")


def _replayed_project(event: AnyRow) -> MutationResult:
    return MutationResult(event.project_id)


def _check_description(description: str | None) -> list[FieldError]:
    if description is not None and len(description) > DESCRIPTION_MAX:
        return [FieldError("description", ErrorCode.INVALID, f"at most {DESCRIPTION_MAX} characters")]
    return []


async def _forbidden_or_missing(write: Write, project_id: int) -> MutationResult:
    """Why a project write changed nothing (the only checks are visibility and management)."""
    may_manage = await queries.project_state(write.conn, write.principal.scope, project_id)
    if may_manage is None:
        return MutationResult.failed("id", ErrorCode.NOT_FOUND, "project not found")
    raise Forbidden("only the project's admins and organization owners and admins manage it")


# --- projectCreate, projectUpdate, projectArchive -----------------------------------------------------


async def create_project(ctx: RequestContext, key: str, name: str, description: str) -> MutationResult:
    """The creator becomes the project's admin. Keys are kept upper case (lookups upper-case too)."""
    key = key.strip().upper()
    errors = check_name(name, "name") + _check_description(description)
    if not KEY.fullmatch(key):
        message = "a key is a letter and 1 to 9 more letters or digits"
        errors.insert(0, FieldError("key", ErrorCode.INVALID, message))
    if errors:
        return MutationResult(None, errors)
    scope = ctx.require_principal().scope
    draft = ProjectDraft(key, name.strip(), description)

    async def body(write: Write) -> MutationResult:
        project_id = await queries.insert_project(write.conn, scope, draft, write.now)
        if isinstance(project_id, Refused):
            if project_id is Refused.CHECKS:
                raise Forbidden("guests cannot create projects")
            return MutationResult.failed("key", ErrorCode.CONFLICT, "another project has this key")
        await queries.insert_creator_membership(write.conn, project_id, scope.user_id, write.now)
        await write.record("project.created", project_id=project_id, payload={"key": key, "name": draft.name})
        project = ProjectRecord(
            id=project_id,
            key=key,
            name=draft.name,
            description=description,
            archived_at=None,
            created_at=write.now,
            updated_at=write.now,
            open_task_count=0,
            viewer_role=ProjectRole.ADMIN,
            includes=ProjectIncludes(open_task_count=True, viewer_role=True),
        )
        return CreatedProject(project_id, project=project)

    return await run_write(ctx, body, on_replay=_replayed_project)


async def _change_project(
    ctx: RequestContext, project_id: int, values: dict[str, Any], event: str, payload: dict[str, Any]
) -> MutationResult:
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        if not await queries.update_project(write.conn, scope, project_id, values, write.now):
            return await _forbidden_or_missing(write, project_id)
        await write.record(event, project_id=project_id, payload=payload)
        return MutationResult(project_id)

    return await run_write(ctx, body, on_replay=_replayed_project)


async def update_project(
    ctx: RequestContext, project_id: int, name: str | None, description: str | None
) -> MutationResult:
    """Name and description, each only when given."""
    errors = _check_description(description)
    if name is not None:
        errors = check_name(name, "name") + errors
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name.strip()
    if description is not None:
        values["description"] = description
    if not values:
        errors.append(FieldError(None, ErrorCode.INVALID, "name at least one field to change"))
    if errors:
        return MutationResult(project_id, errors)
    return await _change_project(ctx, project_id, values, "project.updated", {"changes": values})


async def archive_project(ctx: RequestContext, project_id: int, archived: bool) -> MutationResult:
    """Archiving keeps the first archiving time; unarchiving clears it."""
    values = {"archived_at": queries.archived_at(archived, utcnow())}
    return await _change_project(ctx, project_id, values, "project.archived", {"archived": archived})


# --- members ----------------------------------------------------------------------------------------


async def _why_not_member(
    write: Write, project_id: int, user_id: int, *, adding: bool, new_role: ProjectRole | None
) -> MutationResult:
    state = await queries.member_state(write.conn, write.principal.scope, project_id, user_id)
    if state is None:
        return MutationResult.failed("projectId", ErrorCode.NOT_FOUND, "project not found")
    if not state.may_manage:
        raise Forbidden("only the project's admins and organization owners and admins manage members")
    if adding:
        if not state.user_active:
            return MutationResult.failed("userId", ErrorCode.NOT_FOUND, "no active user with this id here")
        return MutationResult.failed("userId", ErrorCode.CONFLICT, "the user is a member already")
    if state.role is None:
        return MutationResult.failed("userId", ErrorCode.NOT_FOUND, "the user is not a member")
    if state.role is ProjectRole.ADMIN and new_role is not ProjectRole.ADMIN and not state.another_admin:
        return MutationResult.failed("userId", ErrorCode.CONFLICT, "the project needs another admin first")
    return MutationResult.failed("userId", ErrorCode.CONFLICT, "the membership changed meanwhile; try again")


async def _with_membership(ctx: RequestContext, result: MutationResult, user_id: int) -> MutationResult:
    """The payload's one read, after the commit: the project, the member's user and role."""
    if result.errors or result.object_id is None:
        return result
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        row = await queries.membership_row(conn, scope, result.object_id, user_id)
    return WrittenMember(result.object_id, row=row)


async def add_member(ctx: RequestContext, project_id: int, user_id: int, role: ProjectRole) -> MutationResult:
    """An active user of the same organization; adding a member twice is a conflict."""
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        refused = await queries.insert_member(write.conn, scope, project_id, user_id, role, write.now)
        if refused is not None:
            return await _why_not_member(write, project_id, user_id, adding=True, new_role=role)
        payload = {"user_id": user_id, "role": role.value}
        await write.record("project.member_added", project_id=project_id, payload=payload)
        return MutationResult(project_id)

    result = await run_write(ctx, body, on_replay=_replayed_project)
    return await _with_membership(ctx, result, user_id)


async def remove_member(ctx: RequestContext, project_id: int, user_id: int) -> MutationResult:
    """Never the project's last admin."""
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        if not await queries.delete_member(write.conn, scope, project_id, user_id):
            return await _why_not_member(write, project_id, user_id, adding=False, new_role=None)
        await write.record("project.member_removed", project_id=project_id, payload={"user_id": user_id})
        return MutationResult(project_id)

    return await run_write(ctx, body, on_replay=_replayed_project)


async def change_member_role(
    ctx: RequestContext, project_id: int, user_id: int, role: ProjectRole
) -> MutationResult:
    """Never demotes the project's last admin."""
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MutationResult:
        if not await queries.change_member_role(write.conn, scope, project_id, user_id, role):
            return await _why_not_member(write, project_id, user_id, adding=False, new_role=role)
        payload = {"user_id": user_id, "role": role.value}
        await write.record("project.member_role_changed", project_id=project_id, payload=payload)
        return MutationResult(project_id)

    result = await run_write(ctx, body, on_replay=_replayed_project)
    return await _with_membership(ctx, result, user_id)
