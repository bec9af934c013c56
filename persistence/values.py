"""What callers hand the queries and get back besides records: pages and their requests, and the
options of a read (filters, orders, the joins to include). Plain values, no SQL: the API builds them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeAlias, TypeVar

from persistence.enums import TaskStatus

R = TypeVar("R")


@dataclass(frozen=True)
class Cursor:
    value: Any
    id: int


@dataclass(frozen=True)
class PageRequest:
    size: int
    # True for `last`: the page is taken from the end, before `before`.
    backward: bool = False
    after: Cursor | None = None
    before: Cursor | None = None


@dataclass(frozen=True)
class Page(Generic[R]):
    rows: Sequence[R]
    has_next_page: bool
    has_previous_page: bool


class TaskOrderField(enum.StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    DUE_DATE = "due_date"
    PRIORITY = "priority"
    NUMBER = "number"
    POSITION = "position"


@dataclass(frozen=True)
class NotificationPage(Generic[R]):
    """The viewer's notifications: a page, and the counts that were asked for."""

    page: Page[R]
    total: int | None
    unread: int | None


@dataclass(frozen=True)
class TaskIncludes:
    assignee: bool = False
    reporter: bool = False
    labels: bool = False
    comment_count: bool = False
    # The record fields to read, by path (``title``, ``project.name``, ``assignee.email``); None reads
    # them all. A field not read is None in the record. ``id`` is always read.
    fields: frozenset[str] | None = None


@dataclass(frozen=True)
class TaskFilter:
    project_ids: tuple[int, ...] | None = None
    statuses: tuple[str, ...] | None = None
    priorities: tuple[int, ...] | None = None
    assignee_ids: tuple[int, ...] | None = None
    label_ids: tuple[int, ...] | None = None
    due_before: date | None = None
    due_after: date | None = None
    parent_id: int | None = None


@dataclass(frozen=True)
class TaskOrder:
    field: TaskOrderField = TaskOrderField.CREATED_AT
    descending: bool = True


@dataclass(frozen=True)
class TaskDraft:
    project_id: int
    title: str
    description: str
    status: TaskStatus
    priority: int
    assignee_id: int | None
    due_date: date | None
    parent_id: int | None


@dataclass(frozen=True)
class ProjectIncludes:
    open_task_count: bool = False
    viewer_role: bool = False


@dataclass(frozen=True)
class NotificationIncludes:
    """What a notification's record carries besides the notification: its actor and, for a mention
    the scope may still read, its comment."""

    actor: bool = False
    comment: bool = False


# A page and, when it was asked for, the count of every match.
PageWithTotal: TypeAlias = tuple[Page[R], int | None]
