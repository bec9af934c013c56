"""The Subscription root: `taskEvents`, `notificationAdded` and `opsMetrics`, over WebSockets only."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from resolvers import ops
from resolvers import subscriptions as resolvers
from resolvers.context import RequestContext
from resolvers.event_reads import EventReads
from resolvers.subscriptions import ConnectionContext, TaskEventKind
from schema.core.described import graphql_enum
from schema.core.ids import decode_id, encode_id
from schema.core.selection import child_names
from schema.notifications.types import Notification
from schema.ops.metrics import OpsMetrics
from schema.tasks.types import Task, task_includes

graphql_enum(
    TaskEventKind,
    name="TaskEventType",
    description="What happened. RESYNC: events were missed that cannot be replayed (more than 1,000, or "
    "purged by the cleanup): refetch; the stream goes on after what you refetch.",
    values={
        "CREATED": "A task was made.",
        "UPDATED": "A task's fields changed.",
        "MOVED": "A task changed status or place on the board.",
        "ASSIGNED": "A task's assignee changed.",
        "DELETED": "A task was deleted.",
        "COMMENTED": "A comment was written, edited or deleted.",
        "LABELLED": "A label was put on or taken off a task.",
        "ATTACHED": "A file was attached to a task.",
        "RESYNC": "Events were missed that cannot be replayed: refetch.",
    },
)


@strawberry.enum(
    description="ADDED: a new notification. RESYNC: some were missed that cannot be replayed: refetch."
)
class NotificationEventType(enum.Enum):
    ADDED = strawberry.enum_value("added", description="A new notification.")
    RESYNC = strawberry.enum_value("resync", description="Some were missed that cannot be replayed: refetch.")


@strawberry.type(description="A change to a task of the project, in the project's order.")
class TaskEvent:
    type: TaskEventKind = strawberry.field(description="What happened to the task, or RESYNC.")
    sequence: int | None = strawberry.field(
        description="The event's place in the project's order: increasing, without duplicates. Events "
        "that are not about tasks (labels, members) take numbers too, so it may skip. Pass the last "
        "one you received as `afterSequence` to resume. Null for RESYNC."
    )
    event_id: strawberry.ID | None = strawberry.field(description="The ActivityEvent's id; null for RESYNC.")
    task_id: strawberry.ID | None = strawberry.field(description="Also given for a deleted task.")
    occurred_at: datetime = strawberry.field(description="When the change was committed.")
    # The subscriber's context for this event alone (see schema/engine/execute.py).
    context: strawberry.Private[RequestContext]
    # What the event's subscribers in this process share, their answer among it when
    # SHARED_FIELDS allows (schema/engine/shared_events.py).
    memo: strawberry.Private[EventReads]
    _change: strawberry.Private[resolvers.TaskChange]

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
            memo=change.reads,
            _change=change,
        )

    @strawberry.field(
        description="The task as it is now, if you may see it; null for RESYNC and deleted tasks."
    )
    async def task(self, info: Info[RequestContext, None]) -> Task | None:
        includes = task_includes(child_names(info.selected_fields))
        found = await resolvers.event_task(self._change, includes)
        return None if found is None else Task.from_record(found)


@strawberry.type(description="A notification of yours as it is made, or a RESYNC.")
class NotificationEvent:
    type: NotificationEventType = strawberry.field(
        description=(
            "ADDED: a new notification; RESYNC: some could not be sent, read `viewer.notifications` again."
        )
    )
    occurred_at: datetime = strawberry.field(description="When the notification was made.")
    notification: Notification | None = strawberry.field(description="Null for RESYNC.")
    context: strawberry.Private[RequestContext]

    @classmethod
    def from_change(cls, change: resolvers.NotificationChange) -> NotificationEvent:
        message = change.notification
        return cls(
            type=NotificationEventType.RESYNC if message is None else NotificationEventType.ADDED,
            occurred_at=change.occurred_at,
            notification=None if message is None else Notification.from_message(message),
            context=change.context,
        )


# The fields whose value is the same for every subscriber who may see the event (the event, the task's
# own columns, the plain fields of its project, people and labels): a selection of only these is
# executed once per event and process and its bytes sent to every such subscriber
# (schema/engine/shared_events.py). Left out on purpose: what depends on the viewer (a project's
# `viewerRole`, a person's `projects` and `assignedTasks`) and the lists that are paged or scoped per
# reader (comments, activity, subtasks, attachments, members, tasks); those run per subscriber.
SHARED_FIELDS: dict[str, frozenset[str]] = {
    "Subscription": frozenset({"taskEvents"}),
    "TaskEvent": frozenset({"type", "sequence", "eventId", "taskId", "occurredAt", "task"}),
    "Task": frozenset(
        {
            "id",
            "key",
            "number",
            "title",
            "description",
            "status",
            "priority",
            "position",
            "dueDate",
            "version",
            "createdAt",
            "updatedAt",
            "completedAt",
            "project",
            "assignee",
            "reporter",
            "labels",
            "commentCount",
        }
    ),
    "Project": frozenset(
        {"id", "key", "name", "description", "archived", "archivedAt", "createdAt", "updatedAt", "labels"}
    ),
    "User": frozenset({"id", "name", "email", "role", "deactivated", "createdAt"}),
    "Label": frozenset({"id", "name", "color"}),
}

C = TypeVar("C")
T = TypeVar("T")


async def _mapped(source: AsyncGenerator[C, None], convert: Callable[[C], T]) -> AsyncGenerator[T, None]:
    async with aclosing(source):
        async for item in source:
            yield convert(item)


@strawberry.type(
    description=("What may be followed live, over WebSocket (graphql-transport-ws or graphql-ws).")
)
class Subscription:
    @strawberry.subscription(
        description="Changes to the project's tasks, in order. With `afterSequence`, the events "
        "committed after it come first (at most 1,000; further behind, one RESYNC), then live ones, "
        "with no gap and no duplicate. NOT_FOUND for a project you cannot see, and later, once you "
        "no longer may: the subscription then ends."
    )
    async def task_events(
        self,
        info: Info[ConnectionContext, None],
        project_id: Annotated[strawberry.ID, strawberry.argument(description="The project to follow.")],
        after_sequence: Annotated[
            int | None,
            strawberry.argument(
                description="The last `sequence` you received: resume after it (0: from the start). "
                "Beyond the newest event nothing is replayed: the stream waits for what comes after it."
            ),
        ] = None,
    ) -> AsyncIterator[TaskEvent]:
        changes = await resolvers.task_events(
            info.context, decode_id(project_id, "Project", argument="projectId"), after_sequence
        )
        return _mapped(changes, TaskEvent.from_change)

    @strawberry.subscription(
        description="Your own notifications as they are made. With `afterId`, the ones made after it "
        "come first (at most 1,000; further behind, one RESYNC), then live ones, without duplicates."
    )
    async def notification_added(
        self,
        info: Info[ConnectionContext, None],
        after_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The id of the last notification you received: resume after it. RESYNC "
                "first when it is no longer kept."
            ),
        ] = None,
    ) -> AsyncIterator[NotificationEvent]:
        after = None if after_id is None else decode_id(after_id, "Notification", argument="afterId")
        changes = await resolvers.notifications(info.context, after)
        return _mapped(changes, NotificationEvent.from_change)

    @strawberry.subscription(
        description="Live ops figures of every server process, each judged against the seed's "
        "thresholds, every `intervalSeconds` (1 to 60; the first at once). Platform operators only: "
        "FORBIDDEN otherwise, and at the next tick once the account is no longer an operator."
    )
    async def ops_metrics(
        self,
        info: Info[ConnectionContext, None],
        interval_seconds: Annotated[int, strawberry.argument(description="Seconds between two answers.")] = 5,
    ) -> AsyncIterator[OpsMetrics]:
        figures = await ops.ops_metrics(info.context, interval_seconds)
        return _mapped(figures, OpsMetrics.from_figures)
