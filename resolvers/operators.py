"""Granting and revoking the platform operator flag (`/ops`, trusted document registration).

A platform-level action with no principal: it is recorded as an organization-level event of the
user's own organization, with no actor, so the organization's activity log shows who became an
operator and when."""

from __future__ import annotations

from dataclasses import dataclass

from persistence.models.base import utcnow
from persistence.queries import operators as queries
from persistence.queries.events import NewEvent, insert_event
from persistence.queries.scope import Scope
from persistence.queries.user_writes import user_with_sessions
from resolvers.auth import overwrite_cached_sessions
from resolvers.cache_invalidation import invalidate_written
from resolvers.context import Services

GRANTED = "user.operator_granted"
REVOKED = "user.operator_revoked"


@dataclass(frozen=True)
class OperatorChange:
    user_id: int
    # False when the user already stood where the command asked: nothing written, nothing recorded.
    changed: bool


async def set_operator(services: Services, email: str, *, operator: bool) -> OperatorChange | None:
    """Sets the flag and records the change, or does nothing when it is already set so; None for
    an unknown email. Cached sessions carry the new flag from the user's next request on."""
    email = email.strip().lower()
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        user = await queries.user_by_email_for_update(conn, email)
        if user is None:
            return None
        if bool(user.is_operator) == operator:
            return OperatorChange(user.id, changed=False)
        await queries.set_operator(conn, user.id, operator, now)
        event_type = GRANTED if operator else REVOKED
        event = NewEvent(user.organization_id, None, None, None, event_type, {"user_id": user.id})
        await insert_event(conn, event, now)
        scope = Scope(organization_id=user.organization_id, user_id=user.id, sees_all_projects=True)
        rows = await user_with_sessions(conn, scope, user.id, now)
    await overwrite_cached_sessions(services, rows)
    await invalidate_written(services.cache, [(user.organization_id, event_type)])
    return OperatorChange(user.id, changed=True)
