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
from resolvers.signed_links import signed_url
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
    body: str = strawberry.field(description="The text, as written (markdown; `@name` mentions notify).")
    created_at: datetime = strawberry.field(description="When it was written.")
    updated_at: datetime = strawberry.field(
        description="When it was last edited (its creation time if never)."
    )
    author: User | None = strawberry.field(description="Who wrote it; null if you may no longer see them.")

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
    filename: str = strawberry.field(description="The name it was uploaded with.")
    content_type: str = strawberry.field(description="Its media type, as checked at upload.")
    size_bytes: int = strawberry.field(description="Its size in bytes.")
    sha256: str = strawberry.field(description="Hex SHA-256 of the bytes (also the download's ETag).")
    created_at: datetime = strawberry.field(description="When it was uploaded.")
    download_url: str = strawberry.field(
        description="GET it with the same `Authorization: Bearer` header as GraphQL; served as a download."
    )
    _database_id: strawberry.Private[int]

    @strawberry.field(
        description="An absolute link to the download that needs no header (for a plain `<a href>`): "
        "signed for this attachment and the viewer, it works for a few minutes "
        "(`TASKQL_SIGNED_URL_TTL_SECONDS`), then gets 403; read the field again for a new one."
    )
    def signed_download_url(self, info: Info[RequestContext, None]) -> str:
        settings, principal = info.context.settings, info.context.require_principal()
        return signed_url(settings, self.download_url, "attachment", self._database_id, principal)

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
            _database_id=record.id,
        )


@strawberry.type(description="One change to a task, as its activity log records it.")
class ActivityEvent(Node):
    type: str = strawberry.field(
        description=(
            "What happened, as `task.created`, `task.updated`, `comment.created`... "
            "(the webhook event types)."
        )
    )
    sequence: int | None = strawberry.field(
        description=(
            "The event's place in its project's order (what `taskEvents` resumes "
            "from); null for an event of no project."
        )
    )
    payload: JSON = strawberry.field(
        description="What changed: for an update, each changed field's old and new values."
    )
    created_at: datetime = strawberry.field(description="When it was recorded (the write's commit).")
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

    @strawberry.field(description="Who did it; null for the system or a user you may no longer see.")
    async def actor(self, info: Info[RequestContext, None]) -> User | None:
        found = await user_resolvers.user_or_none(info.context, self._actor_id)
        return None if found is None else User.from_record(found)


@strawberry.type(description="A page of a task's comments, oldest first.")
class CommentConnection(Connection[Comment]):
    pass


@strawberry.type(description="A page of a task's activity, newest first.")
class ActivityEventConnection(Connection[ActivityEvent]):
    pass


@strawberry.type(
    description=(
        "A unit of work in a project: its status on the board, assignee, labels, comments and history."
    )
)
class Task(Node):
    key: str = strawberry.field(
        description="Its project's key and its number, like OPS-42: unique and stable."
    )
    number: int = strawberry.field(description="Its number in the project, from 1.")
    title: str = strawberry.field(description="One line, 1 to 200 characters.")
    description: str = strawberry.field(description="Free text (markdown); may be empty.")
    status: TaskStatus = strawberry.field(description="Its column on the board.")
    priority: int = strawberry.field(description="0 (none) to 4 (urgent).")
    position: float = strawberry.field(description="Board order within a status column.")
    due_date: date | None = strawberry.field(description="When it is due; null if never.")
    version: int = strawberry.field(description="Increases on every change; writes must name it.")
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    completed_at: datetime | None = strawberry.field(description="When it was moved to DONE; null otherwise.")
    project: Project = strawberry.field(description="The project it belongs to.")
    # Filled from the joins and aggregates the selection asked for (see task_includes).
    assignee: User | None = strawberry.field(
        description="Who works on it; null if nobody (or someone you may no longer see)."
    )
    reporter: User | None = strawberry.field(description="Who made it; null if you may no longer see them.")
    labels: list[Label] = strawberry.field(description="Its labels, by name.")
    comment_count: int = strawberry.field(description="How many live comments it has.")
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

    @strawberry.field(
        description=("The task it is a subtask of; null for a top-level task (or a parent you cannot see).")
    )
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

    @strawberry.field(description="Its files, oldest first.")
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


@strawberry.type(description="A page of tasks, in the order asked for.")
class TaskConnection(Connection[Task]):
    pass


def _own_names(info: Info[RequestContext, None]) -> set[str]:
    return child_names(info.selected_fields)


@strawberry.input(description="Which tasks a list shows; every condition given must hold.", name="TaskFilter")
class TaskFilterInput:
    project_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tasks of these projects (at most 100)."
    )
    status: list[TaskStatus] | None = strawberry.field(
        default=None, description="Tasks in one of these statuses."
    )
    priority: list[int] | None = strawberry.field(
        default=None, description="Tasks of one of these priorities (0 to 4)."
    )
    assignee_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tasks assigned to one of these users (at most 100)."
    )
    label_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tasks with at least one of these labels (at most 100)."
    )
    due_before: date | None = strawberry.field(default=None, description="Tasks due on or before this date.")
    due_after: date | None = strawberry.field(default=None, description="Tasks due on or after this date.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Subtasks of this task.")

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


@strawberry.input(description="How a task list is ordered.", name="TaskOrder")
class TaskOrderInput:
    field: TaskOrderField = strawberry.field(
        default=TaskOrderField.CREATED_AT, description="What to order by."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Ascending or descending."
    )

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
