"""The PushDevice type: a device of the viewer's that receives push notifications."""

from __future__ import annotations

from datetime import datetime

import strawberry

from persistence.enums import PushPlatform
from persistence.records import PushDeviceRecord
from schema.core.described import graphql_enum
from schema.core.ids import encode_id
from schema.core.node import Node

graphql_enum(
    PushPlatform,
    name="PushPlatform",
    description="Which push service reaches a device.",
    values={
        "IOS": "Apple Push Notification service.",
        "ANDROID": "Firebase Cloud Messaging.",
        "WEB": "Web Push (a browser's service worker).",
    },
)


@strawberry.type(description="A device of yours that receives push notifications.")
class PushDevice(Node):
    platform: PushPlatform = strawberry.field(
        description="Where its pushes go: APNs (IOS), FCM (ANDROID) or Web Push (WEB)."
    )
    created_at: datetime = strawberry.field(description="When it was first registered.")
    last_seen_at: datetime = strawberry.field(description="When its token was last registered.")

    @classmethod
    def from_record(cls, record: PushDeviceRecord) -> PushDevice:
        return cls(
            id=strawberry.ID(encode_id("PushDevice", record.id)),
            platform=record.platform,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
        )
