"""Project reads: members of a project and organization owners/admins see it; nobody else does."""

from __future__ import annotations

from persistence.queries import projects as queries
from persistence.queries.pagination import PageRequest
from persistence.queries.projects import ProjectIncludes
from persistence.queries.rows import AnyRow
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.tasks import PageWithTotal


async def project(ctx: RequestContext, project_id: int, includes: ProjectIncludes) -> AnyRow:
    row: AnyRow | None = await ctx.loaders.project_by_id(includes).load(project_id)
    if row is None:
        raise NotFound("project")
    return row


async def project_by_key(ctx: RequestContext, key: str, includes: ProjectIncludes) -> AnyRow:
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        row = await queries.project_by_key(conn, scope, key.strip().upper()[:10], includes)
    if row is None:
        raise NotFound("project")
    return row


async def list_projects(
    ctx: RequestContext,
    page: PageRequest,
    includes: ProjectIncludes,
    *,
    archived: bool | None,
    member_user_id: int | None = None,
    with_total: bool,
) -> PageWithTotal:
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        return await queries.list_projects(
            conn,
            scope,
            page,
            includes,
            archived=archived,
            member_user_id=member_user_id,
            with_total=with_total,
        )


async def members(ctx: RequestContext, project_id: int) -> list[AnyRow]:
    rows: list[AnyRow] = await ctx.loaders.members_by_project_id().load(project_id)
    return rows


async def labels(ctx: RequestContext, project_id: int) -> list[AnyRow]:
    rows: list[AnyRow] = await ctx.loaders.labels_by_project_id().load(project_id)
    return rows


async def memberships(ctx: RequestContext, user_id: int) -> list[AnyRow]:
    rows: list[AnyRow] = await ctx.loaders.memberships_by_user_id().load(user_id)
    return rows
