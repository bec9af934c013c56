from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from schema.core.ids import encode_id
from schema.core.node import Node


@strawberry.type
class Organization(Node):
    slug: str
    name: str
    created_at: datetime

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Organization:
        return cls(
            id=strawberry.ID(encode_id("Organization", entry["id"])),
            slug=entry["slug"],
            name=entry["name"],
            created_at=datetime.fromisoformat(entry["created_at"]),
        )
