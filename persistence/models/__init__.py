"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from persistence.models.api_keys import ApiKey
from persistence.models.attachments import Attachment
from persistence.models.base import Base
from persistence.models.comments import Comment
from persistence.models.events import Event
from persistence.models.invitations import Invitation
from persistence.models.labels import Label, TaskLabel
from persistence.models.notifications import Notification
from persistence.models.organizations import Organization
from persistence.models.password_resets import PasswordReset
from persistence.models.projects import Project, ProjectMember
from persistence.models.push_devices import PushDevice
from persistence.models.reports import Report
from persistence.models.sessions import AuthSession
from persistence.models.tasks import Task
from persistence.models.trusted_documents import TrustedDocument
from persistence.models.users import User
from persistence.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "Attachment",
    "AuthSession",
    "Base",
    "Comment",
    "Event",
    "Invitation",
    "Label",
    "Notification",
    "Organization",
    "PasswordReset",
    "Project",
    "ProjectMember",
    "PushDevice",
    "Report",
    "Task",
    "TaskLabel",
    "TrustedDocument",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
