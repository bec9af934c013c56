"""Assembles the strawberry schema."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.api_key_mutations import ApiKeyMutation
from schema.attachment_mutations import AttachmentMutation
from schema.auth import AuthMutation
from schema.comment_mutations import CommentMutation
from schema.label_mutations import LabelMutation
from schema.notification_mutations import NotificationMutation
from schema.password_reset_mutations import PasswordResetMutation
from schema.project_mutations import ProjectMutation
from schema.projects import Project
from schema.push_device_mutations import PushDeviceMutation
from schema.query import Query
from schema.reports import ReportMutation
from schema.streaming import StreamingSchema
from schema.subscriptions import Subscription
from schema.task_mutations import TaskMutation
from schema.tasks import Task
from schema.trusted_documents import TrustedDocumentMutation
from schema.user_mutations import UserMutation
from schema.users import User
from schema.webhook_mutations import WebhookMutation
from schema.webhooks import Webhook

Mutation = merge_types(
    "Mutation",
    (
        AuthMutation,
        TaskMutation,
        UserMutation,
        ProjectMutation,
        CommentMutation,
        LabelMutation,
        AttachmentMutation,
        NotificationMutation,
        PasswordResetMutation,
        PushDeviceMutation,
        WebhookMutation,
        ReportMutation,
        ApiKeyMutation,
        TrustedDocumentMutation,
    ),
)


def build_schema() -> strawberry.Schema:
    # Concrete Node types are listed because `node(id:)` returns them only through the interface.
    return StreamingSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Task, Project, User, Webhook],
        config=StrawberryConfig(auto_camel_case=True),
    )
