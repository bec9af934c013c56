"""What the reads hand the API: typed records, one per object, with the objects joined to it nested
(a task's project and people, a comment's author). The queries build them from their rows
(persistence/queries/records.py), so no caller above persistence knows a column label.

NamedTuples rather than frozen dataclasses: a list of 50 tasks builds ~200 of them, and a frozen
dataclass sets each field through ``object.__setattr__`` (twice a NamedTuple's cost); a NamedTuple is
built in one C call from the values a row already holds in order.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from persistence.enums import (
    ApiKeyScope,
    AttemptOutcome,
    DeliveryStatus,
    NotificationKind,
    OrgRole,
    ProjectRole,
    PushPlatform,
    ReportKind,
    ReportStatus,
    TaskStatus,
)
from persistence.values import ProjectIncludes


class UserRecord(NamedTuple):
    id: int
    name: str
    email: str
    role: OrgRole
    deactivated_at: datetime | None
    created_at: datetime


class LabelRecord(NamedTuple):
    id: int
    name: str
    color: str


class ProjectRecord(NamedTuple):
    id: int
    key: str
    name: str
    description: str
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # What ``includes`` asked for; the others are None and were not read.
    open_task_count: int | None = None
    viewer_role: ProjectRole | None = None
    includes: ProjectIncludes = ProjectIncludes()


class ProjectMembershipRecord(NamedTuple):
    """A user's project, with the user's role there."""

    project: ProjectRecord
    role: ProjectRole


class ProjectMemberRecord(NamedTuple):
    """A project's member, with their role in it."""

    user: UserRecord
    role: ProjectRole


class TaskRecord(NamedTuple):
    """A task with its project; the people, labels and comment count only when ``TaskIncludes`` asked
    for them (None, empty and 0 otherwise). Fields its ``fields`` did not name are None."""

    id: int
    number: int
    title: str
    description: str
    status: TaskStatus
    priority: int
    position: float
    due_date: date | None
    parent_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    project: ProjectRecord
    assignee: UserRecord | None
    reporter: UserRecord | None
    labels: tuple[LabelRecord, ...]
    comment_count: int


class CommentRecord(NamedTuple):
    id: int
    body: str
    created_at: datetime
    updated_at: datetime
    # Only when the read asked for it.
    author: UserRecord | None


class AttachmentRecord(NamedTuple):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class ActivityEventRecord(NamedTuple):
    id: int
    type: str
    sequence: int | None
    payload: Any
    created_at: datetime
    actor_id: int | None


class NotificationRecord(NamedTuple):
    id: int
    kind: NotificationKind
    created_at: datetime
    read_at: datetime | None
    task_id: int | None
    actor_id: int | None
    comment_id: int | None
    # What ``NotificationIncludes`` asked for (and the scope may still see); None otherwise.
    actor: UserRecord | None
    comment: CommentRecord | None


class ReportRecord(NamedTuple):
    id: int
    kind: ReportKind
    status: ReportStatus
    attempts: int
    error: str | None
    storage_key: str | None
    created_at: datetime
    finished_at: datetime | None
    project: ProjectRecord
    requester: UserRecord


class WebhookRecord(NamedTuple):
    id: int
    url: str
    event_types: tuple[str, ...]
    active: bool
    description: str
    created_at: datetime
    updated_at: datetime


class WebhookAttemptRecord(NamedTuple):
    number: int
    started_at: datetime
    duration_ms: int
    response_code: int | None
    outcome: AttemptOutcome
    error: str | None


class WebhookDeliveryRecord(NamedTuple):
    id: int
    event_type: str
    event_id: int | None
    status: DeliveryStatus
    attempts: int
    last_response_code: int | None
    created_at: datetime
    updated_at: datetime
    # The log's attempts, oldest first; empty where the read did not ask for them.
    attempt_log: tuple[WebhookAttemptRecord, ...] = ()


class ApiKeyRecord(NamedTuple):
    id: int
    name: str
    prefix: str
    scope: ApiKeyScope
    created_by_user_id: int
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationRecord(NamedTuple):
    id: int
    email: str
    role: OrgRole
    expires_at: datetime


class PushDeviceRecord(NamedTuple):
    id: int
    platform: PushPlatform
    created_at: datetime
    last_seen_at: datetime
