"""Assembles the strawberry schema."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.auth.api_key_mutations import ApiKeyMutation, ApiKeyPayloadMutation
from schema.auth.mutations import AuthMutation
from schema.auth.password_reset import PasswordResetMutation
from schema.nodes import NODE_TYPES
from schema.notifications.mutations import NotificationMutation
from schema.ops.trusted_documents import TrustedDocumentMutation
from schema.projects.mutations import ProjectMutation
from schema.query import Query
from schema.reports.types import ReportMutation
from schema.subscriptions import Subscription
from schema.tasks.attachment_mutations import AttachmentMutation
from schema.tasks.comment_mutations import CommentMutation
from schema.tasks.label_mutations import LabelMutation
from schema.tasks.mutations import TaskMutation
from schema.users.mutations import UserMutation
from schema.users.push_device_mutations import PushDeviceMutation
from schema.webhooks.mutations import WebhookMutation
from schema.webhooks.payload_mutations import WebhookPayloadMutation

# The domains' mutations as one root type (what strawberry.tools.merge_types does, with a description).
Mutation = strawberry.type(
    description="What may be changed. Each mutation takes one `input` and answers a payload whose "
    "`errors` lists its expected failures (docs/api.md#mutations-input-and-payload-errors)."
)(
    type(
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
            WebhookPayloadMutation,
            ReportMutation,
            ApiKeyMutation,
            ApiKeyPayloadMutation,
            TrustedDocumentMutation,
        ),
        {},
    )
)


def build_schema() -> strawberry.Schema:
    # Concrete Node types are listed because `node(id:)` returns them only through the interface.
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(NODE_TYPES),
        config=StrawberryConfig(auto_camel_case=True),
    )
