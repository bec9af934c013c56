"""Who is asking: the authenticated user and what the organization lets them see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from persistence.models import OrgRole
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

    @property
    def is_org_admin(self) -> bool:
        return self.role in (OrgRole.OWNER, OrgRole.ADMIN)

    @property
    def scope(self) -> Scope:
        return Scope(
            organization_id=self.organization_id, user_id=self.user_id, sees_all_projects=self.is_org_admin
        )
