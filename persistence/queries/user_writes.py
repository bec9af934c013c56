"""Organization and user writes. Each is one statement whose WHERE (or a NOT NULL column's guarded
value) carries the permission and validity checks; when it changes nothing, ``user_write_state`` or
``invite_state`` says why. Roles are checked against the actor's row, not the session's cached copy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from persistence.enums import OrgRole
from persistence.models import AuthSession, Invitation, Organization, User
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope
from persistence.queries.users import user_columns

# Aliases built once: aliased() copies every column of its table, about 1 ms per call.
_actor_user = aliased(User, name="actor")
_holder_user = aliased(User, name="holder")
_other_user = aliased(User, name="other")


_users = User.__table__
_sessions = AuthSession.__table__
_invitations = Invitation.__table__
ORG_ADMINS = (OrgRole.OWNER, OrgRole.ADMIN)


def violated(error: IntegrityError, *names: str) -> bool:
    """Whether ``error`` names one of ``names``: a constraint in MariaDB's words, columns in SQLite's."""
    text = str(error.orig)
    return any(name in text for name in names)


def acting_user(scope: Scope, roles: Sequence[OrgRole]) -> ColumnElement[bool]:
    """The scope's user is active and holds one of ``roles``: read from the row in the write's own
    statement, so an admin demoted a moment ago cannot act on a stale session."""
    return exists().where(
        _actor_user.id == scope.user_id,
        _actor_user.organization_id == scope.organization_id,
        _actor_user.deactivated_at.is_(None),
        _actor_user.role.in_(roles),
    )


# --- sign-up and invitations --------------------------------------------------------------------


async def insert_organization(conn: AsyncConnection, *, slug: str, name: str, now: datetime) -> int:
    """Raises IntegrityError on a taken slug (``uq_organizations_slug``)."""
    statement = insert(Organization).values(slug=slug, name=name, created_at=now)
    row = (await conn.execute(statement.returning(Organization.__table__.c.id))).one()
    return int(row.id)


async def insert_user(
    conn: AsyncConnection,
    *,
    organization_id: int,
    email: str,
    name: str,
    password_hash: str,
    role: OrgRole,
    now: datetime,
) -> int:
    """Raises IntegrityError on a taken email (``uq_users_email``)."""
    values = {
        "organization_id": organization_id,
        "email": email,
        "name": name,
        "password_hash": password_hash,
        "role": role,
        "is_operator": False,
        "created_at": now,
        "updated_at": now,
    }
    row = (await conn.execute(insert(User).values(**values).returning(_users.c.id))).one()
    return int(row.id)


EMAIL_TAKEN = ("uq_users_email", "users.email")


@dataclass(frozen=True)
class InvitationDraft:
    email: str
    role: OrgRole
    token_hash: str
    # The token's HMAC input (jobs/invitations.py): the email job derives the token from it again.
    nonce: str
    expires_at: datetime


def _may_invite(scope: Scope, draft: InvitationDraft) -> ColumnElement[bool]:
    # Only an owner makes owners, by invitation as by a role change.
    return acting_user(scope, (OrgRole.OWNER,) if draft.role is OrgRole.OWNER else ORG_ADMINS)


def _email_free(email: str) -> ColumnElement[bool]:
    # An alias: inside a statement on users, the plain table would correlate to the outer row.
    return ~exists().where(_holder_user.email == email)


async def insert_invitation(
    conn: AsyncConnection, scope: Scope, draft: InvitationDraft, now: datetime
) -> int | None:
    """None when the checks refused it: they ride in the organization_id value, which is NULL (and
    refused by the NOT NULL column) unless the actor may invite and the email has no account yet."""
    guarded_organization = select(_users.c.organization_id).where(
        _users.c.id == scope.user_id, _may_invite(scope, draft), _email_free(draft.email)
    )
    values = {
        "organization_id": guarded_organization.scalar_subquery(),
        "email": draft.email,
        "role": draft.role,
        "token_hash": draft.token_hash,
        "nonce": draft.nonce,
        "invited_by_id": scope.user_id,
        "created_at": now,
        "expires_at": draft.expires_at,
    }
    statement = insert(Invitation).values(**values).returning(_invitations.c.id)
    try:
        row = (await conn.execute(statement)).one()
    except IntegrityError as error:
        if violated(error, "'organization_id' cannot be null", "NOT NULL constraint failed: invitations."):
            return None
        raise
    return int(row.id)


@dataclass(frozen=True)
class InviteState:
    may_invite: bool
    email_free: bool


async def invitation_for_email(conn: AsyncConnection, invitation_id: int) -> AnyRow | None:
    """What the invitation email needs: the invitation with its inviter's and organization's names
    (the job decides whether to send)."""
    organizations = Organization.__table__
    statement = (
        select(
            _invitations.c.id,
            _invitations.c.email,
            _invitations.c.role,
            _invitations.c.nonce,
            _invitations.c.token_hash,
            _invitations.c.expires_at,
            _invitations.c.accepted_at,
            _users.c.name.label("inviter_name"),
            organizations.c.name.label("organization_name"),
        )
        .select_from(
            _invitations.join(_users, _users.c.id == _invitations.c.invited_by_id).join(
                organizations, organizations.c.id == _invitations.c.organization_id
            )
        )
        .where(_invitations.c.id == invitation_id)
    )
    row: AnyRow | None = (await conn.execute(statement)).one_or_none()
    return row


async def invite_state(conn: AsyncConnection, scope: Scope, draft: InvitationDraft) -> InviteState:
    statement = select(_may_invite(scope, draft).label("may"), _email_free(draft.email).label("free"))
    row = (await conn.execute(statement)).one()
    return InviteState(bool(row.may), bool(row.free))


async def accept_invitation(conn: AsyncConnection, token_hash: str, now: datetime) -> bool:
    """Marks a live invitation used. Its row lock makes a concurrent acceptance of the same token
    wait and then find it used: single use without a read first."""
    statement = (
        update(Invitation)
        .where(
            _invitations.c.token_hash == token_hash,
            _invitations.c.accepted_at.is_(None),
            _invitations.c.expires_at > now,
        )
        .values(accepted_at=now)
    )
    return (await conn.execute(statement)).rowcount == 1


async def insert_invited_user(
    conn: AsyncConnection, token_hash: str, *, name: str, password_hash: str, now: datetime
) -> AnyRow:
    """The user the invitation (accepted in this transaction) names: its organization, email and
    role are read in the same INSERT ... VALUES. Raises IntegrityError when the email has an account."""

    def invited(column: ColumnElement[Any]) -> Any:
        return select(column).where(_invitations.c.token_hash == token_hash).scalar_subquery()

    values = {
        "organization_id": invited(_invitations.c.organization_id),
        "email": invited(_invitations.c.email),
        "name": name,
        "password_hash": password_hash,
        "role": invited(_invitations.c.role),
        "is_operator": False,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert(User).values(**values).returning(*user_columns(_users))
    row: AnyRow = (await conn.execute(statement)).one()
    return row


async def invitation_state(conn: AsyncConnection, token_hash: str) -> AnyRow | None:
    """Why a token admitted nobody: unknown (None), used, or expired."""
    statement = select(_invitations.c.accepted_at, _invitations.c.expires_at).where(
        _invitations.c.token_hash == token_hash
    )
    row: AnyRow | None = (await conn.execute(statement)).first()
    return row


# --- changes to users -------------------------------------------------------------------------------


def _another_active_owner(target: Any) -> ColumnElement[bool]:
    return exists().where(
        _other_user.organization_id == target.c.organization_id,
        _other_user.role == OrgRole.OWNER,
        _other_user.deactivated_at.is_(None),
        _other_user.id != target.c.id,
    )


def _managed_user(
    scope: Scope, user_id: int, *, new_role: OrgRole | None, deactivating: bool
) -> list[ColumnElement[bool]]:
    """An active user of the organization whom the actor may manage, left with an owner."""
    by_owner = acting_user(scope, (OrgRole.OWNER,))
    conditions = [
        _users.c.id == user_id,
        _users.c.organization_id == scope.organization_id,
        _users.c.deactivated_at.is_(None),
        acting_user(scope, ORG_ADMINS),
        # Only an owner touches owners: the user being one, or becoming one.
        by_owner if new_role is OrgRole.OWNER else or_(_users.c.role != OrgRole.OWNER, by_owner),
    ]
    if deactivating or new_role is not OrgRole.OWNER:
        conditions.append(or_(_users.c.role != OrgRole.OWNER, _another_active_owner(_users)))
    if deactivating:
        conditions.append(_users.c.id != scope.user_id)
    return conditions


def _is_mariadb(conn: AsyncConnection) -> bool:
    return conn.dialect.name in ("mysql", "mariadb")


async def update_user_revoking_sessions(
    conn: AsyncConnection,
    user_id: int,
    where: list[ColumnElement[bool]],
    values: dict[str, Any],
    sessions: ColumnElement[bool],
    now: datetime,
) -> bool:
    """Updates the user and revokes the sessions ``sessions`` selects, or neither.

    MariaDB does both in one multi-table UPDATE over users LEFT JOIN sessions (the write budget
    has no room for a second statement; MariaDB, unlike MySQL, lets the guards read the table the
    statement updates). SQLite updates one table at a time: two statements in the embedded default.
    """
    revocable = and_(_sessions.c.user_id == _users.c.id, _sessions.c.revoked_at.is_(None), sessions)
    if _is_mariadb(conn):
        joined = _users.outerjoin(_sessions, revocable)
        assignments: dict[Any, Any] = {_users.c[name]: value for name, value in values.items()}
        assignments[_sessions.c.revoked_at] = now
        result = await conn.execute(update(joined).where(*where).values(assignments))
        return result.rowcount > 0
    if (await conn.execute(update(User).where(*where).values(**values))).rowcount != 1:
        return False
    await conn.execute(
        update(AuthSession)
        .where(_sessions.c.user_id == user_id, _sessions.c.revoked_at.is_(None), sessions)
        .values(revoked_at=now)
    )
    return True


async def deactivate_user(conn: AsyncConnection, scope: Scope, user_id: int, now: datetime) -> bool:
    """Deactivates the user and revokes every session of theirs in the same write."""
    where = _managed_user(scope, user_id, new_role=None, deactivating=True)
    values = {"deactivated_at": now, "updated_at": now}
    return await update_user_revoking_sessions(conn, user_id, where, values, true(), now)


async def change_role(
    conn: AsyncConnection, scope: Scope, user_id: int, role: OrgRole, now: datetime
) -> bool:
    where = _managed_user(scope, user_id, new_role=role, deactivating=False)
    result = await conn.execute(update(User).where(*where).values(role=role, updated_at=now))
    return result.rowcount == 1


async def update_profile(conn: AsyncConnection, scope: Scope, name: str, now: datetime) -> bool:
    statement = (
        update(User)
        .where(
            _users.c.id == scope.user_id,
            _users.c.organization_id == scope.organization_id,
            _users.c.deactivated_at.is_(None),
        )
        .values(name=name, updated_at=now)
    )
    return (await conn.execute(statement)).rowcount == 1


async def change_password(
    conn: AsyncConnection,
    scope: Scope,
    *,
    old_hash: str,
    new_hash: str,
    revoked_session_ids: Sequence[str],
    now: datetime,
) -> bool:
    """Sets the new hash only if the old one is still current (a concurrent change wins once), and
    revokes the sessions named (the ones read with the old hash, whose cached copies are replaced)."""
    where = [
        _users.c.id == scope.user_id,
        _users.c.organization_id == scope.organization_id,
        _users.c.deactivated_at.is_(None),
        _users.c.password_hash == old_hash,
    ]
    values = {"password_hash": new_hash, "updated_at": now}
    sessions = _sessions.c.id.in_(list(revoked_session_ids))
    return await update_user_revoking_sessions(conn, scope.user_id, where, values, sessions, now)


async def upgrade_password_hash(conn: AsyncConnection, user_id: int, *, old_hash: str, new_hash: str) -> None:
    """The same password hashed with today's parameters, unless the password changed meanwhile. Not a
    change of the user: no event, and ``updated_at`` stays."""
    where = (_users.c.id == user_id, _users.c.password_hash == old_hash)
    await conn.execute(update(User).where(*where).values(password_hash=new_hash))


@dataclass(frozen=True)
class UserWriteState:
    """Why a change to a user changed nothing: read only on that path."""

    role: OrgRole
    deactivated: bool
    actor_role: OrgRole | None
    another_active_owner: bool


async def user_write_state(conn: AsyncConnection, scope: Scope, user_id: int) -> UserWriteState | None:
    """None when the user is not in the scope's organization (missing and foreign read alike)."""
    actor_role = (
        select(_actor_user.role)
        .where(_actor_user.id == scope.user_id, _actor_user.deactivated_at.is_(None))
        .scalar_subquery()
        .label("actor_role")
    )
    statement = select(
        _users.c.role,
        _users.c.deactivated_at,
        actor_role,
        _another_active_owner(_users).label("another_owner"),
    ).where(_users.c.id == user_id, _users.c.organization_id == scope.organization_id)
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return UserWriteState(
        OrgRole(row.role),
        row.deactivated_at is not None,
        None if row.actor_role is None else OrgRole(row.actor_role),
        bool(row.another_owner),
    )


# --- the user with their sessions, for the payload and the session cache ---------------------------


async def user_with_sessions(
    conn: AsyncConnection,
    scope: Scope,
    user_id: int,
    now: datetime,
    *,
    except_session: str | None = None,
    with_password_hash: bool = False,
) -> Sequence[AnyRow]:
    """The user joined to each session of theirs that is live or was revoked by this write (at
    ``now``): one row per session, or one with NULL session columns when there is none.

    The columns are labelled as ``sessions.session_with_user`` labels them, because the session
    cache's entries are built from these rows (resolvers/auth.py) to replace the cached copies.
    """
    organizations = Organization.__table__
    live = and_(
        _sessions.c.user_id == _users.c.id,
        _sessions.c.expires_at > now,
        or_(_sessions.c.revoked_at.is_(None), _sessions.c.revoked_at == now),
    )
    if except_session is not None:
        live = and_(live, _sessions.c.id != except_session)
    columns: list[ColumnElement[Any]] = [
        _sessions.c.id.label("session_id"),
        _sessions.c.expires_at,
        _sessions.c.revoked_at,
        *user_columns(_users, "user_"),
        organizations.c.slug.label("organization_slug"),
        organizations.c.name.label("organization_name"),
        organizations.c.created_at.label("organization_created_at"),
    ]
    if with_password_hash:
        columns.append(_users.c.password_hash)
    statement = (
        select(*columns)
        .select_from(
            _users.join(organizations, organizations.c.id == _users.c.organization_id).outerjoin(
                _sessions, live
            )
        )
        .where(_users.c.id == user_id, _users.c.organization_id == scope.organization_id)
    )
    return (await conn.execute(statement)).all()
