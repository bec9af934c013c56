"""The viewer's notifications: reading them, and marking them read (one's own only).

Marking is one UPDATE bounded to the viewer's own unread notifications, then one read of the named
ones (and the unread count) for the payload. A named id that is not the viewer's (another user's, or
none at all) is NOT_FOUND and the transaction is rolled back: nothing is marked. The write appends a
``notification.read`` event like every mutation; it carries the Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from persistence.queries import notifications as queries
from persistence.queries.notifications import EVERYTHING
from persistence.queries.records import notification_record, page_of
from persistence.queries.rows import AnyRow
from persistence.records import NotificationRecord
from persistence.values import NotificationIncludes, NotificationPage, PageRequest
from resolvers.context import RequestContext
from resolvers.mutations import ErrorCode, FieldError, MutationResult
from resolvers.writes import Write, run_write

EVENT = "notification.read"
MAX_IDS = 100


async def notifications(
    ctx: RequestContext,
    page: PageRequest,
    includes: NotificationIncludes,
    *,
    unread_only: bool,
    with_total: bool,
    with_unread: bool,
) -> NotificationPage[NotificationRecord]:
    scope = ctx.require_principal().scope
    async with ctx.db.read(lag_ok=True) as conn:
        found = await queries.notification_page(
            conn,
            scope,
            page,
            includes,
            unread_only=unread_only,
            with_total=with_total,
            with_unread=with_unread,
        )
    records = page_of(found.page, lambda row: notification_record(row, includes))
    return NotificationPage(records, found.total, found.unread)


@dataclass(frozen=True)
class MarkReadOutcome:
    result: MutationResult
    # How many went from unread to read (a replay tells what the first execution did).
    marked: int = 0
    # The named notifications as they are now (none for "all"), with the actor and comment joined.
    rows: Sequence[AnyRow] = ()
    unread: int | None = None
    ids: tuple[int, ...] = field(default=())

    @property
    def refused(self) -> bool:
        return self.result.refused

    @property
    def notifications(self) -> list[NotificationRecord]:
        return [notification_record(row, EVERYTHING) for row in self.rows]


class _Refused(Exception):
    """Raised inside the unit of work so that it rolls back what the UPDATE did."""

    def __init__(self, outcome: MarkReadOutcome) -> None:
        super().__init__("refused")
        self.outcome = outcome


def _replayed(event: AnyRow) -> MarkReadOutcome:
    ids = event.payload.get("notification_ids")
    return MarkReadOutcome(MutationResult(None), int(event.payload.get("marked", 0)), ids=tuple(ids or ()))


def _invalid(message: str) -> MarkReadOutcome:
    return MarkReadOutcome(MutationResult.failed("ids", ErrorCode.INVALID, message))


def _not_found(ids: Sequence[int], found: set[int]) -> list[FieldError]:
    """One error per id that is not the viewer's notification, by its first place in ``ids``."""
    first_index = {notification_id: index for index, notification_id in reversed(list(enumerate(ids)))}
    return [
        FieldError("ids", ErrorCode.NOT_FOUND, f"ids[{index}]: notification not found")
        for notification_id, index in sorted(first_index.items(), key=lambda item: item[1])
        if notification_id not in found
    ]


async def mark_read(ctx: RequestContext, ids: Sequence[int] | None, mark_all: bool) -> MarkReadOutcome:
    """Marks the named notifications, or all of the viewer's, read. Idempotent: one read already
    keeps its first read time."""
    named = tuple(dict.fromkeys(ids)) if ids is not None else None
    if mark_all == (named is not None):
        return _invalid("name the notifications (`ids`) or pass `all: true`, not both")
    if named is not None and not 0 < len(named) <= MAX_IDS:
        return _invalid(f"name 1 to {MAX_IDS} notifications")
    scope = ctx.require_principal().scope

    async def body(write: Write) -> MarkReadOutcome:
        marked = await queries.mark_read(write.conn, scope, named, write.now)
        rows: Sequence[AnyRow] = ()
        unread = 0  # "all": none is left unread (the UPDATE's locks keep new ones out until commit)
        if named is not None:
            rows, unread = await queries.notifications_by_ids(write.conn, scope, named)
            found = {row.id for row in rows}
            if len(found) < len(named):
                raise _Refused(MarkReadOutcome(MutationResult(None, _not_found(ids or (), found))))
        payload = {"all": True} if named is None else {"notification_ids": list(named)}
        await write.record(EVENT, project_id=None, payload={**payload, "marked": marked})
        return MarkReadOutcome(MutationResult(None), marked, rows, unread, named or ())

    try:
        outcome = await run_write(ctx, body, on_replay=_replayed)
    except _Refused as refused:
        return refused.outcome
    if outcome.unread is None:
        # A replay the database answered (Redis had lost the first answer): what is there now.
        async with ctx.db.read() as conn:
            rows, unread = await queries.notifications_by_ids(conn, scope, outcome.ids)
        outcome = replace(outcome, rows=rows, unread=unread)
    return outcome
