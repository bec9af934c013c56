"""Records from the queries' rows: the one place that knows how a read labels its columns (a task's
``project__key``, a notification's ``actor__name``). A row from the database and one rebuilt from
its cached JSON (rows.PlainRow) both give a ``_mapping``, read once per record.

Each record is made by one ``itemgetter`` call over the row's mapping (its fields are columns of
the same names, under the join's prefix) and one ``tuple.__new__``: a task of a 50-row list costs a
few microseconds, less than reading its row's attributes one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, TypeVar

import orjson

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
)
from persistence.records import (
    ActivityEventRecord,
    ApiKeyRecord,
    AttachmentRecord,
    CommentRecord,
    InvitationRecord,
    LabelRecord,
    NotificationRecord,
    ProjectMemberRecord,
    ProjectMembershipRecord,
    ProjectRecord,
    PushDeviceRecord,
    ReportRecord,
    TaskRecord,
    UserRecord,
    WebhookAttemptRecord,
    WebhookDeliveryRecord,
    WebhookRecord,
)
from persistence.values import NotificationIncludes, Page, ProjectIncludes, TaskIncludes

R = TypeVar("R")
S = TypeVar("S")
Getter = Callable[[Mapping[str, Any]], tuple[Any, ...]]

_USER_FIELDS = ("id", "name", "email", "role", "deactivated_at", "created_at")
_PROJECT_FIELDS = ("id", "key", "name", "description", "archived_at", "created_at", "updated_at")
# The task's own fields, in TaskRecord's order; the nested objects follow them.
_TASK_FIELDS = TaskRecord._fields[: TaskRecord._fields.index("project")]
_COMMENT_FIELDS = ("id", "body", "created_at", "updated_at")


def _getter(fields: Sequence[str], prefix: str = "") -> Getter:
    getter = itemgetter(*(prefix + name for name in fields))
    # Several keys: itemgetter gives a tuple.
    return getter


_PLAIN = ProjectIncludes()
_user_at: dict[str, Getter] = {}
_project_at: dict[str, Getter] = {}
_task = _getter(_TASK_FIELDS)
_comment = _getter(_COMMENT_FIELDS)
_notification_comment = _getter(_COMMENT_FIELDS, "comment__")
# A task read with some of its fields only: the others are None (see TaskIncludes.fields).
_UNREAD: dict[str, None] = {
    **dict.fromkeys(_TASK_FIELDS),
    **dict.fromkeys(f"project__{name}" for name in _PROJECT_FIELDS),
    **dict.fromkeys(f"{person}__{name}" for person in ("assignee", "reporter") for name in _USER_FIELDS),
}


def page_of(page: Page[Any], record: Callable[[Any], R]) -> Page[R]:
    return Page([record(row) for row in page.rows], page.has_next_page, page.has_previous_page)


def pages_of(pages: tuple[Page[Any], S], record: Callable[[Any], R]) -> tuple[Page[R], S]:
    """A (page, total) pair with its page made records."""
    return page_of(pages[0], record), pages[1]


def user_from(values: Mapping[str, Any], prefix: str = "") -> UserRecord:
    """``prefix`` names the join (``assignee__``, a write's ``user_``); empty for a users row."""
    getter = _user_at.get(prefix) or _user_at.setdefault(prefix, _getter(_USER_FIELDS, prefix))
    return tuple.__new__(UserRecord, getter(values))


def user_record(row: Any, prefix: str = "") -> UserRecord:
    return user_from(row._mapping, prefix)


def _project_from(values: Mapping[str, Any], prefix: str) -> ProjectRecord:
    getter = _project_at.get(prefix) or _project_at.setdefault(prefix, _getter(_PROJECT_FIELDS, prefix))
    return ProjectRecord(*getter(values))


def project_record(row: Any, includes: ProjectIncludes = _PLAIN, prefix: str = "") -> ProjectRecord:
    """A project, with the counts and role ``includes`` asked for (read as the row's own columns)."""
    values = row._mapping
    project = _project_from(values, prefix)
    if not (includes.open_task_count or includes.viewer_role):
        return project
    role = values["viewer_role"] if includes.viewer_role else None
    return project._replace(
        open_task_count=values["open_task_count"] if includes.open_task_count else None,
        viewer_role=None if role is None else ProjectRole(role),
        includes=includes,
    )


def membership_record(row: Any) -> ProjectMembershipRecord:
    return ProjectMembershipRecord(_project_from(row._mapping, ""), ProjectRole(row.project_role))


def member_record(row: Any, prefix: str = "", role_label: str = "project_role") -> ProjectMemberRecord:
    values = row._mapping
    return ProjectMemberRecord(user_from(values, prefix), ProjectRole(values[role_label]))


def label_record(row: Any) -> LabelRecord:
    return LabelRecord(row.id, row.name, row.color)


def _labels(raw: Any) -> tuple[LabelRecord, ...]:
    # MariaDB's JSON_ARRAYAGG gives NULL for no rows; SQLite's json_group_array gives "[]".
    if raw is None:
        return ()
    items = orjson.loads(raw)
    items.sort(key=lambda item: (item["name"], item["id"]))
    return tuple(LabelRecord(item["id"], item["name"], item["color"]) for item in items)


def task_record(row: Any, includes: TaskIncludes) -> TaskRecord:
    """A task row of ``_select(includes)``, or its cached JSON's PlainRow."""
    values: Mapping[str, Any] = row._mapping
    if includes.fields is not None:
        values = {**_UNREAD, **values}
    assignee = reporter = None
    if includes.assignee and values["assignee__id"] is not None:
        assignee = user_from(values, "assignee__")
    if includes.reporter and values["reporter__id"] is not None:
        reporter = user_from(values, "reporter__")
    return tuple.__new__(
        TaskRecord,
        (
            *_task(values),
            _project_from(values, "project__"),
            assignee,
            reporter,
            _labels(values["labels_json"]) if includes.labels else (),
            values["comment_count"] if includes.comment_count else 0,
        ),
    )


def comment_record(row: Any, *, with_author: bool) -> CommentRecord:
    values = row._mapping
    author = user_from(values, "author__") if with_author and values["author__id"] is not None else None
    return tuple.__new__(CommentRecord, (*_comment(values), author))


def attachment_record(row: Any) -> AttachmentRecord:
    return AttachmentRecord(
        row.id, row.filename, row.content_type, row.size_bytes, row.sha256, row.created_at
    )


def activity_record(row: Any) -> ActivityEventRecord:
    return ActivityEventRecord(row.id, row.type, row.sequence, row.payload, row.created_at, row.actor_id)


def notification_record(row: Any, includes: NotificationIncludes) -> NotificationRecord:
    values = row._mapping
    actor = None
    if includes.actor and values["actor__id"] is not None:
        actor = user_from(values, "actor__")
    comment = None
    if includes.comment and values["comment__id"] is not None:
        # A mention's actor is the comment's author.
        comment = tuple.__new__(CommentRecord, (*_notification_comment(values), actor))
    return NotificationRecord(
        values["id"],
        NotificationKind(values["kind"]),
        values["created_at"],
        values["read_at"],
        values["task_id"],
        values["actor_id"],
        values["comment_id"],
        actor,
        comment,
    )


def report_record(row: Any) -> ReportRecord:
    """From ``report_by_id``'s row, which carries the project and the requester too."""
    values = row._mapping
    return ReportRecord(
        values["id"],
        ReportKind(values["kind"]),
        ReportStatus(values["status"]),
        values["attempts"],
        values["error"],
        values["storage_key"],
        values["created_at"],
        values["finished_at"],
        _project_from(values, "project__"),
        user_from(values, "requester__"),
    )


def webhook_record(row: Any) -> WebhookRecord:
    return WebhookRecord(
        row.id,
        row.url,
        tuple(row.event_types),
        bool(row.active),
        row.description,
        row.created_at,
        row.updated_at,
    )


def webhook_attempt_record(row: Any) -> WebhookAttemptRecord:
    return WebhookAttemptRecord(
        row.number, row.started_at, row.duration_ms, row.response_code, AttemptOutcome(row.outcome), row.error
    )


def webhook_delivery_record(row: Any, attempts: Sequence[Any] = ()) -> WebhookDeliveryRecord:
    return WebhookDeliveryRecord(
        row.id,
        row.event_type,
        row.event_id,
        DeliveryStatus(row.status),
        row.attempts,
        row.last_response_code,
        row.created_at,
        row.updated_at,
        tuple(webhook_attempt_record(attempt) for attempt in attempts),
    )


def joined_delivery_record(rows: Sequence[Any]) -> WebhookDeliveryRecord:
    """A delivery from its rows with the attempts outer-joined (``attempt__`` columns; one row with
    NULL ones when it has none)."""
    attempts = [
        WebhookAttemptRecord(
            row.attempt__number,
            row.attempt__started_at,
            row.attempt__duration_ms,
            row.attempt__response_code,
            AttemptOutcome(row.attempt__outcome),
            row.attempt__error,
        )
        for row in rows
        if row.attempt__id is not None
    ]
    return webhook_delivery_record(rows[0])._replace(attempt_log=tuple(attempts))


def invitation_record(row: Any) -> InvitationRecord:
    return InvitationRecord(row.id, row.email, OrgRole(row.role), row.expires_at)


def api_key_record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        row.id,
        row.name,
        row.prefix,
        ApiKeyScope(row.scope),
        row.created_by_user_id,
        row.expires_at,
        row.revoked_at,
        row.created_at,
    )


def push_device_record(row: Any) -> PushDeviceRecord:
    return PushDeviceRecord(row.id, PushPlatform(row.platform), row.created_at, row.last_seen_at)
