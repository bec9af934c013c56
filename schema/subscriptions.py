"""The Subscription root: `taskEvents` and `notificationAdded`, served over WebSockets only."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.types import Info

from resolvers import subscriptions as resolvers
from resolvers import tasks as task_resolvers
from resolvers.context import RequestContext
from resolvers.subscriptions import ConnectionContext, NotificationKind, TaskEventKind
from schema.ids import decode_id, encode_id
from schema.selection import child_names
from schema.tasks import Task, task_includes

TaskEventType = strawberry.enum(
    TaskEventKind,
    name="TaskEventType",
    description="What happened. RESYNC: events may have been missed (a restart, a slow client): refetch.",
)
NotificationKindEnum = strawberry.enum(NotificationKind, name="NotificationKind")


@strawberry.enum(description="ADDED: a new notification. RESYNC: some may have been missed: refetch.")
class NotificationEventType(enum.Enum):
    ADDED = "added"
    RESYNC = "resync"


async def _task(info: Info[RequestContext, None], task_id: int | None) -> Task | None:
    """The task as this subscriber may see it now: read per event, through the event's own loaders."""
    if task_id is None:
        return None
    includes = task_includes(child_names(info.selected_fields))
    row = await task_resolvers.task_or_none(info.context, task_id, includes)
    return None if row is None else Task.from_row(row, includes)


@strawberry.type(description="A change to a task of the project, in the project's order.")
class TaskEvent:
    type: TaskEventType  # type: ignore[valid-type]
    sequence: int | None = strawberry.field(
        description="Per project and gapless: a gap means missed events. Null for RESYNC."
    )
    event_id: strawberry.ID | None = strawberry.field(description="The ActivityEvent's id; null for RESYNC.")
    task_id: strawberry.ID | None = strawberry.field(description="Also given for a deleted task.")
    occurred_at: datetime
    # The subscriber's context for this event alone (see schema/streaming.py).
    context: strawberry.Private[RequestContext]
    _task_db_id: strawberry.Private[int | None]

    @classmethod
    def from_change(cls, change: resolvers.TaskChange) -> TaskEvent:
        return cls(
            type=change.kind,
            sequence=change.sequence,
            event_id=None
            if change.event_id is None
            else strawberry.ID(encode_id("ActivityEvent", change.event_id)),
            task_id=None if change.task_id is None else strawberry.ID(encode_id("Task", change.task_id)),
            occurred_at=change.occurred_at,
            context=change.context,
            _task_db_id=None if change.kind is TaskEventKind.DELETED else change.task_id,
        )

    @strawberry.field(
        description="The task as it is now, if you may see it; null for RESYNC and deleted tasks."
    )
    async def task(self, info: Info[RequestContext, None]) -> Task | None:
        return await _task(info, self._task_db_id)


@strawberry.type(
    description="One of your notifications. Minimal for now: the viewer's notifications connection "
    "(with read state) comes with the notifications table."
)
class Notification:
    id: strawberry.ID
    kind: NotificationKindEnum  # type: ignore[valid-type]
    created_at: datetime
    _task_db_id: strawberry.Private[int | None]

    @strawberry.field(description="The task it is about, if you may still see it.")
    async def task(self, info: Info[RequestContext, None]) -> Task | None:
        return await _task(info, self._task_db_id)


@strawberry.type
class NotificationEvent:
    type: NotificationEventType
    occurred_at: datetime
    notification: Notification | None = strawberry.field(description="Null for RESYNC.")
    context: strawberry.Private[RequestContext]

    @classmethod
    def from_change(cls, change: resolvers.NotificationChange) -> NotificationEvent:
        message = change.notification
        notification = None
        if message is not None:
            notification = Notification(
                id=strawberry.ID(encode_id("Notification", message.id)),
                kind=message.kind,
                created_at=message.created_at,
                _task_db_id=message.task_id,
            )
        return cls(
            type=NotificationEventType.RESYNC if message is None else NotificationEventType.ADDED,
            occurred_at=change.occurred_at,
            notification=notification,
            context=change.context,
        )


C = TypeVar("C")
T = TypeVar("T")


async def _mapped(source: AsyncGenerator[C, None], convert: Callable[[C], T]) -> AsyncGenerator[T, None]:
    async with aclosing(source):
        async for item in source:
            yield convert(item)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes to the project's tasks. NOT_FOUND for a project you cannot see, and "
        "later, once you no longer may: the subscription then ends."
    )
    async def task_events(
        self, info: Info[ConnectionContext, None], project_id: strawberry.ID
    ) -> AsyncIterator[TaskEvent]:
        changes = await resolvers.task_events(
            info.context, decode_id(project_id, "Project", argument="projectId")
        )
        return _mapped(changes, TaskEvent.from_change)

    @strawberry.subscription(description="Your own notifications as they are made.")
    async def notification_added(
        self, info: Info[ConnectionContext, None]
    ) -> AsyncIterator[NotificationEvent]:
        changes = await resolvers.notifications(info.context)
        return _mapped(changes, NotificationEvent.from_change)
