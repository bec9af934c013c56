"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from persistence.models.api_keys import ApiKey, ApiKeyScope
from persistence.models.attachments import Attachment
from persistence.models.base import Base
from persistence.models.comments import Comment
from persistence.models.events import Event
from persistence.models.invitations import Invitation
from persistence.models.labels import Label, TaskLabel
from persistence.models.notifications import Notification, NotificationKind
from persistence.models.organizations import Organization
from persistence.models.password_resets import PasswordReset
from persistence.models.projects import Project, ProjectMember, ProjectRole
from persistence.models.push_devices import PushDevice, PushPlatform
from persistence.models.reports import Report, ReportKind, ReportStatus
from persistence.models.sessions import AuthSession
from persistence.models.tasks import Task, TaskStatus
from persistence.models.trusted_documents import TrustedDocument
from persistence.models.users import OrgRole, User
from persistence.models.webhooks import (
    AttemptOutcome,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ApiKey",
    "ApiKeyScope",
    "Attachment",
    "AttemptOutcome",
    "AuthSession",
    "Base",
    "Comment",
    "DeliveryStatus",
    "Event",
    "Invitation",
    "Label",
    "Notification",
    "NotificationKind",
    "OrgRole",
    "Organization",
    "PasswordReset",
    "Project",
    "ProjectMember",
    "ProjectRole",
    "PushDevice",
    "PushPlatform",
    "Report",
    "ReportKind",
    "ReportStatus",
    "Task",
    "TaskLabel",
    "TaskStatus",
    "TrustedDocument",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
