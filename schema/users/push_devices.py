"""The PushDevice type: a device of the viewer's that receives push notifications."""

from __future__ import annotations

from datetime import datetime

import strawberry

from persistence.enums import PushPlatform
from persistence.queries.rows import AnyRow
from schema.core.ids import encode_id

strawberry.enum(PushPlatform, name="PushPlatform")


@strawberry.type(description="A device of yours that receives push notifications.")
class PushDevice:
    id: strawberry.ID
    platform: PushPlatform
    created_at: datetime
    last_seen_at: datetime = strawberry.field(description="When its token was last registered.")

    @classmethod
    def from_row(cls, row: AnyRow) -> PushDevice:
        return cls(
            id=strawberry.ID(encode_id("PushDevice", row.id)),
            platform=PushPlatform(row.platform),
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
        )
