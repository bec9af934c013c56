"""Attachment reads outside a task's list: one by id, for a payload or a download."""

from __future__ import annotations

from persistence.queries import attachments as queries
from persistence.queries.records import attachment_record
from persistence.queries.rows import AnyRow
from persistence.records import AttachmentRecord
from resolvers.context import RequestContext
from resolvers.errors import NotFound


async def _row_or_none(ctx: RequestContext, attachment_id: int | None) -> AnyRow | None:
    """The attachment if its task is live and the principal may see it (one read)."""
    if attachment_id is None:
        return None
    async with ctx.db.read() as conn:
        return await queries.attachment_by_id(conn, ctx.require_principal().scope, attachment_id)


async def attachment_or_none(ctx: RequestContext, attachment_id: int | None) -> AttachmentRecord | None:
    row = await _row_or_none(ctx, attachment_id)
    return None if row is None else attachment_record(row)


async def attachment_for_download(ctx: RequestContext, attachment_id: int) -> AnyRow:
    """Readable exactly where its task is: NOT_FOUND for another organization's, a private project's
    (to a non-member) or a deleted task's attachment, as for one that never existed."""
    row = await _row_or_none(ctx, attachment_id)
    if row is None:
        raise NotFound("attachment")
    return row
