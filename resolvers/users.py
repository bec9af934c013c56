"""User reads: everyone in an organization sees its users; nobody sees another organization's."""

from __future__ import annotations

from persistence.queries import users as queries
from persistence.queries.pagination import PageRequest
from persistence.queries.rows import AnyRow
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.tasks import PageWithTotal


async def user(ctx: RequestContext, user_id: int) -> AnyRow:
    row = await user_or_none(ctx, user_id)
    if row is None:
        raise NotFound("user")
    return row


async def user_or_none(ctx: RequestContext, user_id: int | None) -> AnyRow | None:
    if user_id is None:
        return None
    row: AnyRow | None = await ctx.loaders.user_by_id().load(user_id)
    return row


async def list_users(
    ctx: RequestContext, page: PageRequest, *, include_deactivated: bool, with_total: bool
) -> PageWithTotal:
    scope = ctx.require_principal().scope
    async with ctx.db.read() as conn:
        return await queries.list_users(
            conn, scope, page, with_total=with_total, include_deactivated=include_deactivated
        )
