"""The Notification type (one type for `viewer.notifications` and `notificationAdded`) and its
connection."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

import strawberry
from strawberry.types import Info

from persistence.enums import NotificationKind
from persistence.records import NotificationRecord
from persistence.values import NotificationIncludes
from resolvers import comment_mutations as comment_resolvers
from resolvers import notifications as resolvers
from resolvers import tasks as task_resolvers
from resolvers import users as user_resolvers
from resolvers.context import RequestContext
from resolvers.subscriptions import NotificationMessage
from schema.core.connections import Connection
from schema.core.cursors import CursorOrder
from schema.core.described import graphql_enum
from schema.core.ids import encode_id
from schema.core.node import Node
from schema.core.paging import ConnectionRequest
from schema.core.selection import child_names
from schema.tasks.types import Comment, Task, task_includes
from schema.users.types import User

Ctx = Info[RequestContext, None]
graphql_enum(
    NotificationKind,
    name="NotificationKind",
    description="ASSIGNED: someone made you a task's assignee. MENTIONED: someone mentioned you in a "
    "comment (`@` and your email address).",
    values={
        "ASSIGNED": "Someone made you a task's assignee.",
        "MENTIONED": "Someone mentioned you in a comment.",
    },
)
_NEWEST_FIRST = CursorOrder("notification", "int", attrgetter("id"))


@strawberry.type(description="One of your notifications.")
class Notification(Node):
    kind: NotificationKind = strawberry.field(description="Why you were notified.")
    created_at: datetime = strawberry.field(description="When it was made.")
    read_at: datetime | None = strawberry.field(description="When you first marked it read.")
    _task_id: strawberry.Private[int | None]
    _actor_id: strawberry.Private[int | None]
    _comment_id: strawberry.Private[int | None]
    # True when the actor and comment came with the row (the connection's joins, as selected);
    # False for a subscription's message, where they are read on demand.
    _joined: strawberry.Private[bool]
    _actor: strawberry.Private[User | None]
    _comment: strawberry.Private[Comment | None]

    @classmethod
    def from_record(cls, record: NotificationRecord) -> Notification:
        actor = None if record.actor is None else User.from_record(record.actor)
        return cls(
            id=strawberry.ID(encode_id("Notification", record.id)),
            kind=record.kind,
            created_at=record.created_at,
            read_at=record.read_at,
            _task_id=record.task_id,
            _actor_id=record.actor_id,
            _comment_id=record.comment_id,
            _joined=True,
            _actor=actor,
            _comment=None if record.comment is None else Comment.from_record(record.comment),
        )

    @classmethod
    def from_message(cls, message: NotificationMessage) -> Notification:
        """A notification just made, as the relay published it: unread."""
        return cls(
            id=strawberry.ID(encode_id("Notification", message.id)),
            kind=message.kind,
            created_at=message.created_at,
            read_at=None,
            _task_id=message.task_id,
            _actor_id=message.actor_id,
            _comment_id=message.comment_id,
            _joined=False,
            _actor=None,
            _comment=None,
        )

    @strawberry.field(description="Whether you marked it read.")
    def read(self) -> bool:
        return self.read_at is not None

    @strawberry.field(description="The task it is about; null once you may no longer see it.")
    async def task(self, info: Ctx) -> Task | None:
        if self._task_id is None:
            return None
        includes = task_includes(child_names(info.selected_fields))
        found = await task_resolvers.task_or_none(info.context, self._task_id, includes)
        return None if found is None else Task.from_record(found)

    @strawberry.field(description="Who assigned or mentioned you.")
    async def actor(self, info: Ctx) -> User | None:
        if self._joined:
            return self._actor
        found = await user_resolvers.user_or_none(info.context, self._actor_id)
        return None if found is None else User.from_record(found)

    @strawberry.field(
        description="For a mention, the comment; null for an assignment, and once the comment is "
        "deleted or you may no longer see its task."
    )
    async def comment(self, info: Ctx) -> Comment | None:
        if self._joined:
            return self._comment
        found = await comment_resolvers.comment_or_none(info.context, self._comment_id)
        return None if found is None else Comment.from_record(found)


@strawberry.type(description="A page of your notifications, newest first.")
class NotificationConnection(Connection[Notification]):
    unread_count: int = strawberry.field(
        description="All your unread notifications, whatever the filter (counted only when asked for)."
    )


def includes_of(names: set[str]) -> NotificationIncludes:
    return NotificationIncludes(actor="actor" in names or "comment" in names, comment="comment" in names)


async def notification_connection(
    info: Ctx,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    unread_only: bool,
) -> NotificationConnection:
    asked = ConnectionRequest(info, _NEWEST_FIRST, first=first, after=after, last=last, before=before)
    includes = includes_of(asked.selection.node_names)
    result = await resolvers.notifications(
        info.context,
        asked.page,
        includes,
        unread_only=unread_only,
        with_total=asked.selection.wants_total,
        with_unread="unreadCount" in asked.selection.own,
    )
    return asked.connection(
        NotificationConnection,
        result.page,
        result.total,
        Notification.from_record,
        unread_count=result.unread or 0,
    )
