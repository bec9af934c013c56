"""Task's fields as the compiled reads plan them (schema/engine/compiler): each field the SQL value it
is, in persistence/compiled/spec.py's vocabulary, and the readers of the task lists' arguments. A
field missing here sends its operation through the resolvers; tests/engine/test_registry.py lists the
covered fields, so a new one is noticed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from persistence.compiled.lists import LeftToResolvers, ListArguments, ListOrder
from persistence.compiled.spec import (
    ById,
    ByKey,
    Column,
    Connection,
    EdgeCursor,
    EdgeNode,
    Edges,
    GlobalId,
    IdPath,
    KeyAndNumber,
    LinkedList,
    LiveCount,
    Nodes,
    OwnedList,
    PageInfo,
    RootSpec,
    ToOne,
    TotalCount,
    TypeSpec,
)
from persistence.settings import Settings
from persistence.values import TaskFilter, TaskOrder, TaskOrderField
from resolvers.pagination import page_request
from resolvers.tasks import SUBTASK_LIMIT, check_search
from schema.core.cursors import CursorOrder
from schema.tasks.types import (
    ACTIVITY_BY_ID,
    COMMENTS_BY_TIME,
    CURSOR_ORDERS,
    SEARCH_ORDER,
    SUBTASK_ORDER,
    TaskFilterInput,
    TaskOrderInput,
)

TASK = TypeSpec(
    "tasks",
    {
        "id": GlobalId("Task"),
        "key": KeyAndNumber("project_id", "key", "number"),
        "number": Column("number", "int"),
        "title": Column("title", "text"),
        "description": Column("description", "text"),
        "status": Column("status", "enum"),
        "priority": Column("priority", "int"),
        "position": Column("position", "float"),
        "dueDate": Column("due_date", "date"),
        "version": Column("version", "int"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
        "completedAt": Column("completed_at", "datetime"),
        "project": ToOne("projects", "project_id"),
        "assignee": ToOne("users", "assignee_id"),
        "reporter": ToOne("users", "reporter_id"),
        # Only a parent the viewer may read (live, in a project it sees).
        "parent": ToOne("tasks", "parent_id", tenancy="tasks"),
        # Only the task's own project's labels, by name then id, as the resolvers give them.
        "labels": LinkedList("task_labels", "task_id", "label_id", "labels", "project_id", ("name", "id")),
        "commentCount": LiveCount("comments", "task_id", "deleted_at"),
        "subtasks": Connection("tasks", "subtasks", "tasks", parent_column="parent_id", bare=True),
        # The task is one the viewer sees: its attachments are too, oldest first.
        "attachments": OwnedList("attachments", "task_id", ("created_at", "id")),
        "comments": Connection(
            "comments", "comments", "parent", parent_column="task_id", live_column="deleted_at"
        ),
        "activity": Connection("events", "activity", "organization", parent_column="task_id"),
    },
)

COMMENT = TypeSpec(
    "comments",
    {
        "id": GlobalId("Comment"),
        "body": Column("body", "text"),
        "createdAt": Column("created_at", "datetime"),
        "updatedAt": Column("updated_at", "datetime"),
        # An author of the viewer's organization only (the comment's task's), as the resolvers join it.
        "author": ToOne("users", "author_id", same_organization=False, tenancy="organization"),
    },
)

ATTACHMENT = TypeSpec(
    "attachments",
    {
        "id": GlobalId("Attachment"),
        "filename": Column("filename", "text"),
        "contentType": Column("content_type", "text"),
        "sizeBytes": Column("size_bytes", "int"),
        "sha256": Column("sha256", "text"),
        "createdAt": Column("created_at", "datetime"),
        # schema/tasks/types.py's Attachment.download_url.
        "downloadUrl": IdPath("/attachments/", "Attachment"),
    },
)

ACTIVITY_EVENT = TypeSpec(
    "events",
    {
        "id": GlobalId("ActivityEvent"),
        "type": Column("type", "text"),
        "sequence": Column("sequence", "int"),
        "payload": Column("payload", "json"),
        "createdAt": Column("created_at", "datetime"),
        "actor": ToOne("users", "actor_id"),
    },
)

# A connection's own fields, and its edges': the same for every node type.
CONNECTION = TypeSpec(
    None, {"nodes": Nodes(), "edges": Edges(), "pageInfo": PageInfo(), "totalCount": TotalCount()}
)
EDGE = TypeSpec(None, {"cursor": EdgeCursor(), "node": EdgeNode()})

TASK_LIST = Connection("tasks", "tasks", "tasks")

# Query's task roots.
TASK_BY_ID = ById("tasks", "Task", "id", "task")
ROOTS: dict[str, RootSpec] = {
    "task": TASK_BY_ID,
    "taskByKey": ByKey("tasks", "project_id", "key", "number", "task"),
    "tasks": TASK_LIST,
    "searchTasks": Connection("tasks", "search", "tasks"),
}

# searchTasks' cursors hold a row's rank (from 0), as Query.search_tasks makes them.
SEARCH_BY_RANK = CursorOrder(SEARCH_ORDER, "int", lambda row: row.id)
_WORD = re.compile(r"\w", re.UNICODE)

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(values: Mapping[str, Any]) -> dict[str, Any]:
    """An input object's fields as graphql-core gives them, by their Python names."""
    return {_CAMEL.sub("_", name).lower(): value for name, value in values.items()}


def _order(cursors: CursorOrder, column: str, *, descending: bool, nullable: bool = False) -> ListOrder:
    kind: Any = cursors.value_kind
    return ListOrder(cursors.name, column, kind, descending, nullable)


def _page(
    arguments: Mapping[str, Any], settings: Settings, order: ListOrder, cursors: CursorOrder
) -> ListArguments:
    """first/after/last/before read as schema/core/paging.py reads them (cursors first)."""
    after = cursors.decode(arguments.get("after"), argument="after")
    before = cursors.decode(arguments.get("before"), argument="before")
    page = page_request(
        settings, first=arguments.get("first"), last=arguments.get("last"), after=after, before=before
    )
    return ListArguments(order, page)


def task_list(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    """A task connection's arguments, as TaskListArguments reads them."""
    where = arguments.get("filter")
    order_by = arguments.get("orderBy")
    task_filter = TaskFilterInput(**_snake(where)).to_filter() if where is not None else TaskFilter()
    order = TaskOrderInput(**_snake(order_by)).to_order() if order_by is not None else TaskOrder()
    cursors = CURSOR_ORDERS[order.field]
    listed = _order(
        cursors,
        order.field.value,
        descending=order.descending,
        nullable=order.field is TaskOrderField.DUE_DATE,
    )
    page = _page(arguments, settings, listed, cursors)
    return ListArguments(listed, page.page, task_filter)


def subtasks(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    """A task's direct subtasks: by board position, the first SUBTASK_LIMIT."""
    cursors = CURSOR_ORDERS[SUBTASK_ORDER.field]
    listed = _order(cursors, SUBTASK_ORDER.field.value, descending=SUBTASK_ORDER.descending)
    return _page({"first": SUBTASK_LIMIT}, settings, listed, cursors)


def comments(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    listed = _order(COMMENTS_BY_TIME, "created_at", descending=False)
    return _page(arguments, settings, listed, COMMENTS_BY_TIME)


def activity(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    listed = _order(ACTIVITY_BY_ID, "id", descending=True)
    return _page(arguments, settings, listed, ACTIVITY_BY_ID)


def search(arguments: Mapping[str, Any], settings: Settings) -> ListArguments:
    """searchTasks' arguments as Query.search_tasks reads them: the filter, `first`, then `after`,
    a rank (the page starts past it)."""
    text = arguments["query"]
    if not _WORD.search(text):
        # No word: the resolvers answer an empty page without a statement.
        raise LeftToResolvers("a search without a word")
    where = arguments.get("filter")
    task_filter = TaskFilterInput(**_snake(where)).to_filter() if where is not None else TaskFilter()
    page = page_request(settings, first=arguments.get("first"), last=None)
    start = SEARCH_BY_RANK.decode(arguments.get("after"), argument="after")
    offset = 0 if start is None else start.value + 1
    check_search(settings, text, offset)
    listed = _order(SEARCH_BY_RANK, "id", descending=False)
    return ListArguments(listed, page, task_filter, search_text=text, search_offset=offset)


BINDERS: dict[str, Callable[[Mapping[str, Any], Settings], ListArguments]] = {
    "search": search,
    "tasks": task_list,
    "subtasks": subtasks,
    "comments": comments,
    "activity": activity,
}
