"""User reads: everyone in an organization sees its users; nobody sees another organization's."""

from __future__ import annotations

from persistence.queries import users as queries
from persistence.queries.records import pages_of, user_record
from persistence.queries.rows import AnyRow
from persistence.records import UserRecord
from persistence.values import PageRequest, PageWithTotal
from resolvers.context import RequestContext
from resolvers.errors import NotFound


async def user(ctx: RequestContext, user_id: int) -> UserRecord:
    found = await user_or_none(ctx, user_id)
    if found is None:
        raise NotFound("user")
    return found


async def user_or_none(ctx: RequestContext, user_id: int | None) -> UserRecord | None:
    if user_id is None:
        return None
    row: AnyRow | None = await ctx.loaders.user_by_id().load(user_id)
    return None if row is None else user_record(row)


async def list_users(
    ctx: RequestContext, page: PageRequest, *, include_deactivated: bool, with_total: bool
) -> PageWithTotal[UserRecord]:
    scope = ctx.require_principal().scope
    async with ctx.db.read(lag_ok=True) as conn:
        found = await queries.list_users(
            conn, scope, page, with_total=with_total, include_deactivated=include_deactivated
        )
    return pages_of(found, user_record)
