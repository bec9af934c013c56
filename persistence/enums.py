"""The stored enums: the values a column may hold, shared by the models, the queries and the API."""

from __future__ import annotations

import enum


class OrgRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"


class ProjectRole(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class TaskStatus(enum.StrEnum):
    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"
    CANCELED = "canceled"


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"
    MENTIONED = "mentioned"


class ReportKind(enum.StrEnum):
    # Tasks by status and assignee, overdue tasks, weekly throughput.
    STATUS = "status"


class ReportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    # The dead letter: the last attempt failed (or the address was refused); only a redelivery revives it.
    DEAD = "dead"


class AttemptOutcome(enum.StrEnum):
    SUCCESS = "success"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    # The URL resolved to an address webhooks may not reach (jobs/ssrf.py): nothing was sent.
    REFUSED = "refused"


class ApiKeyScope(enum.StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


class PushPlatform(enum.StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"
