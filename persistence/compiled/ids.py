"""Global ids as the API shows them: base64url of "<Type>:<database id>", without padding."""

from __future__ import annotations

import base64


def encode_global_id(type_name: str, database_id: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{database_id}".encode()).decode().rstrip("=")


# The name SQLite connections know ``encode_global_id`` by (persistence/db.py registers it).
GLOBAL_ID_FUNCTION = "taskql_global_id"
