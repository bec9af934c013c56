"""Who is asking: the authenticated user and what the organization lets them see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from persistence.enums import ApiKeyScope, OrgRole
from persistence.queries.scope import Scope


@dataclass(frozen=True)
class Principal:
    user_id: int
    organization_id: int
    role: OrgRole
    is_operator: bool
    session_id: str
    expires_at: datetime
    # The user's and organization's rows as read with the session, so the viewer costs no statement.
    user: dict[str, Any]
    organization: dict[str, Any]
    # Set when an API key authenticated the request (resolvers/api_keys.py); the key acts as its
    # creator, so the fields above are that user's. ``api_key_scope`` is an ``ApiKeyScope`` value.
    api_key_id: int | None = None
    api_key_scope: str | None = None

    @property
    def is_org_admin(self) -> bool:
        return self.role in (OrgRole.OWNER, OrgRole.ADMIN)

    @property
    def budget_key(self) -> str:
        """The principal as its budget and its written mark know it: a key by key, a user by user."""
        return f"apikey:{self.api_key_id}" if self.api_key_id is not None else f"user:{self.user_id}"

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def can_write(self) -> bool:
        """False for a read-only API key: it may run queries, never mutations."""
        return self.api_key_scope != ApiKeyScope.READ

    @property
    def scope(self) -> Scope:
        return Scope(
            organization_id=self.organization_id, user_id=self.user_id, sees_all_projects=self.is_org_admin
        )
