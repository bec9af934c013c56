"""notificationMarkRead."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import notifications as resolvers
from resolvers.context import RequestContext
from resolvers.notifications import MarkReadOutcome
from schema.core.ids import decode_ids
from schema.core.payload_errors import MutationError, MutationInput, errors_as
from schema.notifications.types import Notification

Ctx = Info[RequestContext, None]


@strawberry.type(description="An expected failure of `notificationMarkRead`.")
class NotificationMarkReadError(MutationError):
    pass


@strawberry.input(description="What `notificationMarkRead` takes.")
class NotificationMarkReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="1 to 100 of your notifications."
    )
    all: bool = strawberry.field(default=False, description="Every one of your unread notifications.")


@strawberry.type(description="What `notificationMarkRead` answers.")
class NotificationMarkReadPayload:
    errors: list[NotificationMarkReadError] = strawberry.field(
        description="Expected failures, empty on success; a write with errors changed nothing."
    )
    _outcome: strawberry.Private[MarkReadOutcome]

    @strawberry.field(description="The named notifications as they are now, newest first (none for `all`).")
    def notifications(self) -> list[Notification]:
        return [Notification.from_record(found) for found in self._outcome.notifications]

    @strawberry.field(description="How many went from unread to read.")
    def marked_count(self) -> int:
        return self._outcome.marked

    @strawberry.field(description="Your unread notifications now; null when the write was refused.")
    def unread_count(self) -> int | None:
        return None if self._outcome.refused else self._outcome.unread


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="Marks your notifications read: the named ones, or all. Marking one read again "
        "keeps its first read time. Another user's notification is NOT_FOUND, and nothing is marked."
    )
    async def notification_mark_read(
        self,
        info: Ctx,
        input: MutationInput[NotificationMarkReadInput],  # noqa: A002
    ) -> NotificationMarkReadPayload:
        info.context.require_principal()
        ids = decode_ids(input.ids, "Notification", argument="input.ids")
        outcome = await resolvers.mark_read(info.context, ids, input.all)
        return NotificationMarkReadPayload(
            errors=errors_as(NotificationMarkReadError, outcome.result), _outcome=outcome
        )
