from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from operator import attrgetter

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from persistence.records import ActivityEventRecord, AttachmentRecord, CommentRecord, TaskRecord
from persistence.values import Page, TaskFilter, TaskIncludes, TaskOrder
from resolvers import tasks as resolvers
from resolvers import users as user_resolvers
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.pagination import page_request
from schema.core.connections import After, Before, Connection, First, Last
from schema.core.cursors import CursorOrder
from schema.core.enums import OrderDirection, TaskOrderField, TaskStatus
from schema.core.ids import decode_id, decode_ids, encode_id
from schema.core.node import Node
from schema.core.paging import ConnectionRequest
from schema.core.selection import child_names
from schema.projects.types import Label, Project
from schema.tasks.columns import task_fields
from schema.users.types import User

CURSOR_ORDERS = {
    field: CursorOrder(field.value, kind, attrgetter(field.value))
    for field, kind in {
        TaskOrderField.CREATED_AT: "datetime",
        TaskOrderField.UPDATED_AT: "datetime",
        TaskOrderField.DUE_DATE: "date",
        TaskOrderField.PRIORITY: "int",
        TaskOrderField.NUMBER: "int",
        TaskOrderField.POSITION: "float",
    }.items()
}
COMMENTS_BY_TIME = CursorOrder("comment", "datetime", attrgetter("created_at"))
ACTIVITY_BY_ID = CursorOrder("activity", "int", attrgetter("id"))
SEARCH_ORDER = "search"
# Task.subtasks: by board position.
SUBTASK_ORDER = TaskOrder(TaskOrderField.POSITION, descending=False)


def task_includes(names: set[str]) -> TaskIncludes:
    return TaskIncludes(
        assignee="assignee" in names,
        reporter="reporter" in names,
        labels="labels" in names,
        comment_count="commentCount" in names,
    )


@strawberry.type(description="A comment on a task; deleted ones are gone from every read.")
class Comment(Node):
    body: str
    created_at: datetime
    updated_at: datetime
    author: User | None

    @classmethod
    def from_record(cls, record: CommentRecord) -> Comment:
        return cls(
            id=strawberry.ID(encode_id("Comment", record.id)),
            body=record.body,
            created_at=record.created_at,
            updated_at=record.updated_at,
            author=None if record.author is None else User.from_record(record.author),
        )


@strawberry.type(description="A file attached to a task.")
class Attachment(Node):
    filename: str
    content_type: str
    size_bytes: int
    sha256: str = strawberry.field(description="Hex SHA-256 of the bytes (also the download's ETag).")
    created_at: datetime
    download_url: str = strawberry.field(
        description="GET it with the same `Authorization: Bearer` header as GraphQL; served as a download."
    )

    @classmethod
    def from_record(cls, record: AttachmentRecord) -> Attachment:
        global_id = encode_id("Attachment", record.id)
        return cls(
            id=strawberry.ID(global_id),
            filename=record.filename,
            content_type=record.content_type,
            size_bytes=record.size_bytes,
            sha256=record.sha256,
            created_at=record.created_at,
            download_url=f"/attachments/{global_id}",
        )


@strawberry.type(description="One change to a task, as its activity log records it.")
class ActivityEvent(Node):
    type: str
    sequence: int | None
    payload: JSON
    created_at: datetime
    _actor_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, record: ActivityEventRecord) -> ActivityEvent:
        return cls(
            id=strawberry.ID(encode_id("ActivityEvent", record.id)),
            type=record.type,
            sequence=record.sequence,
            payload=record.payload,
            created_at=record.created_at,
            _actor_id=record.actor_id,
        )

    @strawberry.field
    async def actor(self, info: Info[RequestContext, None]) -> User | None:
        found = await user_resolvers.user_or_none(info.context, self._actor_id)
        return None if found is None else User.from_record(found)


@strawberry.type
class CommentConnection(Connection[Comment]):
    pass


@strawberry.type
class ActivityEventConnection(Connection[ActivityEvent]):
    pass


@strawberry.type
class Task(Node):
    key: str
    number: int
    title: str
    description: str
    status: TaskStatus
    priority: int = strawberry.field(description="0 (none) to 4 (urgent).")
    position: float = strawberry.field(description="Board order within a status column.")
    due_date: date | None
    version: int = strawberry.field(description="Increases on every change; writes must name it.")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    project: Project
    # Filled from the joins and aggregates the selection asked for (see task_includes).
    assignee: User | None
    reporter: User | None
    labels: list[Label]
    comment_count: int
    _db_id: strawberry.Private[int]
    _parent_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, record: TaskRecord) -> Task:
        # Fields the selection did not need were not read: they are None, and never shown.
        project, assignee, reporter = record.project, record.assignee, record.reporter
        return cls(
            id=strawberry.ID(encode_id("Task", record.id)),
            key=f"{project.key}-{record.number}",
            number=record.number,
            title=record.title,
            description=record.description,
            status=record.status,
            priority=record.priority,
            position=record.position,
            due_date=record.due_date,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            completed_at=record.completed_at,
            project=Project.from_record(project),
            assignee=None if assignee is None else User.from_record(assignee),
            reporter=None if reporter is None else User.from_record(reporter),
            labels=[Label.from_record(label) for label in record.labels],
            comment_count=record.comment_count,
            _db_id=record.id,
            _parent_id=record.parent_id,
        )

    @strawberry.field
    async def parent(self, info: Info[RequestContext, None]) -> Task | None:
        includes = task_includes(_own_names(info))
        found = await resolvers.task_or_none(info.context, self._parent_id, includes)
        return None if found is None else Task.from_record(found)

    @strawberry.field(description="Direct subtasks by board position (at most 100).")
    async def subtasks(self, info: Info[RequestContext, None]) -> list[Task]:
        includes = task_includes(_own_names(info))
        page = page_request(info.context.settings, first=resolvers.SUBTASK_LIMIT, last=None)
        result, _ = await resolvers.tasks_of(
            info.context,
            "parent_id",
            self._db_id,
            TaskFilter(),
            SUBTASK_ORDER,
            page,
            includes,
            with_total=False,
        )
        return [Task.from_record(record) for record in result.rows]

    @strawberry.field
    async def attachments(self, info: Info[RequestContext, None]) -> list[Attachment]:
        return [Attachment.from_record(r) for r in await resolvers.attachments(info.context, self._db_id)]

    @strawberry.field(description="Comments, oldest first.")
    async def comments(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> CommentConnection:
        asked = ConnectionRequest(info, COMMENTS_BY_TIME, first=first, after=after, last=last, before=before)
        with_author = "author" in asked.selection.node_names
        result, total = await resolvers.comments(
            info.context,
            self._db_id,
            asked.page,
            with_author=with_author,
            with_total=asked.selection.wants_total,
        )
        return asked.connection(CommentConnection, result, total, Comment.from_record)

    @strawberry.field(description="What happened to this task, newest first.")
    async def activity(
        self,
        info: Info[RequestContext, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> ActivityEventConnection:
        asked = ConnectionRequest(info, ACTIVITY_BY_ID, first=first, after=after, last=last, before=before)
        result, total = await resolvers.activity(
            info.context, self._db_id, asked.page, with_total=asked.selection.wants_total
        )
        return asked.connection(
            ActivityEventConnection,
            result,
            total,
            ActivityEvent.from_record,
        )


@strawberry.type
class TaskConnection(Connection[Task]):
    pass


def _own_names(info: Info[RequestContext, None]) -> set[str]:
    return child_names(info.selected_fields)


@strawberry.input(name="TaskFilter")
class TaskFilterInput:
    project_ids: list[strawberry.ID] | None = None
    status: list[TaskStatus] | None = None
    priority: list[int] | None = None
    assignee_ids: list[strawberry.ID] | None = None
    label_ids: list[strawberry.ID] | None = None
    due_before: date | None = None
    due_after: date | None = None
    parent_id: strawberry.ID | None = None

    def to_filter(self) -> TaskFilter:
        priorities = None
        if self.priority is not None:
            if any(not 0 <= p <= 4 for p in self.priority) or len(self.priority) > 5:
                raise BadUserInput("`priority` values run from 0 to 4", argument="filter.priority")
            priorities = tuple(self.priority)
        statuses: tuple[str, ...] | None = None
        if self.status is not None:
            statuses = tuple(TaskStatus(s).value for s in self.status)
        return TaskFilter(
            project_ids=decode_ids(self.project_ids, "Project", argument="filter.projectIds"),
            statuses=statuses,
            priorities=priorities,
            assignee_ids=decode_ids(self.assignee_ids, "User", argument="filter.assigneeIds"),
            label_ids=decode_ids(self.label_ids, "Label", argument="filter.labelIds"),
            due_before=self.due_before,
            due_after=self.due_after,
            parent_id=None
            if self.parent_id is None
            else decode_id(self.parent_id, "Task", argument="filter.parentId"),
        )


@strawberry.input(name="TaskOrder")
class TaskOrderInput:
    field: TaskOrderField = TaskOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC

    def to_order(self) -> TaskOrder:
        return TaskOrder(TaskOrderField(self.field), descending=self.direction is OrderDirection.DESC)


class TaskListArguments:
    """The arguments every task connection shares, decoded once."""

    def __init__(
        self,
        info: Info[RequestContext, None],
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        where: TaskFilterInput | None,
        order_by: TaskOrderInput | None,
        *,
        direct: bool = False,
        cursors: CursorOrder | None = None,
    ) -> None:
        """``cursors``: the order the cursors name when it is not ``order_by`` (search pages by rank)."""
        self.where = where.to_filter() if where is not None else TaskFilter()
        self.order = order_by.to_order() if order_by is not None else TaskOrder()
        self._asked = ConnectionRequest(
            info,
            CURSOR_ORDERS[self.order.field] if cursors is None else cursors,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        self.selection = self._asked.selection
        self.page = self._asked.page
        self.includes = task_includes(self.selection.node_names)
        if direct:
            # A list read by its own statement reads only the columns its selection shows (and the
            # cursors' order column). Lists through a loader keep every column: a loader is shared by
            # includes, and per-selection columns would split one batch into several statements.
            fields = task_fields(self.selection.node_fields, self.order.field.value)
            self.includes = replace(self.includes, fields=fields)

    def connection(self, result: Page[TaskRecord], total: int | None) -> TaskConnection:
        return self._asked.connection(TaskConnection, result, total, Task.from_record)


async def nested_task_connection(
    info: Info[RequestContext, None],
    partition: str,
    parent_id: int,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    where: TaskFilterInput | None,
    order_by: TaskOrderInput | None,
) -> TaskConnection:
    args = TaskListArguments(info, first, after, last, before, where, order_by)
    result, total = await resolvers.tasks_of(
        info.context,
        partition,
        parent_id,
        args.where,
        args.order,
        args.page,
        args.includes,
        with_total=args.selection.wants_total,
    )
    return args.connection(result, total)
