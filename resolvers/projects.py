"""Project reads: members of a project and organization owners/admins see it; nobody else does."""

from __future__ import annotations

from persistence.queries import projects as queries
from persistence.queries.records import (
    label_record,
    member_record,
    membership_record,
    pages_of,
    project_record,
)
from persistence.queries.rows import AnyRow
from persistence.records import LabelRecord, ProjectMemberRecord, ProjectMembershipRecord, ProjectRecord
from persistence.values import PageRequest, PageWithTotal, ProjectIncludes
from resolvers.context import RequestContext
from resolvers.errors import NotFound


async def project(ctx: RequestContext, project_id: int, includes: ProjectIncludes) -> ProjectRecord:
    row: AnyRow | None = await ctx.loaders.project_by_id(includes).load(project_id)
    if row is None:
        raise NotFound("project")
    return project_record(row, includes)


def project_key(text: str) -> str:
    """A project key as asked for: trimmed, upper-cased, at most the column's 10 characters."""
    return text.strip().upper()[:10]


async def project_by_key(ctx: RequestContext, key: str, includes: ProjectIncludes) -> ProjectRecord:
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        row = await queries.project_by_key(conn, scope, project_key(key), includes)
    if row is None:
        raise NotFound("project")
    return project_record(row, includes)


async def list_projects(
    ctx: RequestContext,
    page: PageRequest,
    includes: ProjectIncludes,
    *,
    archived: bool | None,
    member_user_id: int | None = None,
    with_total: bool,
) -> PageWithTotal[ProjectRecord]:
    scope = ctx.require_principal().scope
    async with ctx.db.read(lag_ok=True) as conn:
        found = await queries.list_projects(
            conn,
            scope,
            page,
            includes,
            archived=archived,
            member_user_id=member_user_id,
            with_total=with_total,
        )
    return pages_of(found, lambda row: project_record(row, includes))


async def members(ctx: RequestContext, project_id: int) -> list[ProjectMemberRecord]:
    rows: list[AnyRow] = await ctx.loaders.members_by_project_id().load(project_id)
    return [member_record(row) for row in rows]


async def labels(ctx: RequestContext, project_id: int) -> list[LabelRecord]:
    rows: list[AnyRow] = await ctx.loaders.labels_by_project_id().load(project_id)
    return [label_record(row) for row in rows]


async def memberships(ctx: RequestContext, user_id: int) -> list[ProjectMembershipRecord]:
    rows: list[AnyRow] = await ctx.loaders.memberships_by_user_id().load(user_id)
    return [membership_record(row) for row in rows]
