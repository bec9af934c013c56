from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from schema.core.ids import encode_id
from schema.core.node import Node


@strawberry.type(
    description=("A tenant: its users, projects and tasks; nothing of it is visible to another.")
)
class Organization(Node):
    slug: str = strawberry.field(description="A short unique name made from the name at sign-up.")
    name: str = strawberry.field(description="The name chosen at sign-up.")
    created_at: datetime = strawberry.field(description="When it signed up.")

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Organization:
        return cls(
            id=strawberry.ID(encode_id("Organization", entry["id"])),
            slug=entry["slug"],
            name=entry["name"],
            created_at=datetime.fromisoformat(entry["created_at"]),
        )
