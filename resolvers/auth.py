"""Login, refresh, logout, and turning a bearer token into a Principal (the hot path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from persistence.enums import OrgRole
from persistence.models.base import utcnow
from persistence.queries import sessions as session_queries
from persistence.queries import user_writes
from persistence.queries import users as user_queries
from resolvers.context import RequestContext, Services
from resolvers.errors import Forbidden, Unauthenticated
from resolvers.login_throttle import count_login, login_failed, login_succeeded
from resolvers.principal import Principal
from resolvers.tokens import (
    AccessClaims,
    access_token_expiry,
    issue_access_token,
    new_refresh_token,
    new_session_id,
    parse_refresh_token,
    read_access_token,
)

SESSION_CACHE = "session"


def session_cache_key(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(frozen=True)
class AuthResult:
    access_token: str
    refresh_token: str
    access_token_expires_at: datetime
    principal: Principal


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _entry_from_row(row: Any) -> dict[str, Any]:
    """What the session cache holds: the session's state, its user and organization."""
    return {
        "session_id": row.session_id,
        "expires_at": _iso(row.expires_at),
        "revoked_at": _iso(row.revoked_at),
        **identity_entry(row),
    }


def identity_entry(row: Any) -> dict[str, Any]:
    """The user and organization a cached credential (session or API key) acts as, from a row whose
    columns are labelled as ``session_with_user`` labels them."""
    return {
        "user": {
            "id": row.user_id,
            "organization_id": row.user_organization_id,
            "email": row.user_email,
            "name": row.user_name,
            "role": str(row.user_role),
            "is_operator": bool(row.user_is_operator),
            "deactivated_at": _iso(row.user_deactivated_at),
            "created_at": _iso(row.user_created_at),
        },
        "organization": {
            "id": row.user_organization_id,
            "slug": row.organization_slug,
            "name": row.organization_name,
            "created_at": _iso(row.organization_created_at),
        },
    }


def _principal_from_entry(entry: dict[str, Any], now: datetime) -> Principal:
    if entry["revoked_at"] is not None:
        raise Unauthenticated("session revoked")
    user = entry["user"]
    expires_at = datetime.fromisoformat(entry["expires_at"])
    if expires_at <= now:
        raise Unauthenticated("session expired")
    if user["deactivated_at"] is not None:
        raise Unauthenticated("account deactivated")
    return Principal(
        user_id=user["id"],
        organization_id=user["organization_id"],
        role=OrgRole(user["role"]),
        is_operator=user["is_operator"],
        session_id=entry["session_id"],
        expires_at=expires_at,
        user=user,
        organization=entry["organization"],
    )


async def _session_entry(services: Services, session_id: str) -> dict[str, Any]:
    cached = await services.cache.get_json(SESSION_CACHE, session_cache_key(session_id))
    return await _session_entry_from(services, session_id, cached)


async def _session_entry_from(services: Services, session_id: str, cached: Any | None) -> dict[str, Any]:
    """The cached entry when there was one (``cached``), else the row, cached for the next request."""
    if cached is not None:
        return dict(cached)
    key = session_cache_key(session_id)
    async with services.db.read() as conn:
        row = await session_queries.session_with_user(conn, session_id)
    if row is None:
        raise Unauthenticated("unknown session")
    entry = _entry_from_row(row)
    await services.cache.fill_json(key, entry, services.settings.session_cache_ttl_seconds)
    return entry


async def session_entries(services: Services, session_ids: Sequence[str]) -> list[dict[str, Any] | None]:
    """Many sessions at once (the subscribers of one event): one MGET, then one statement for the
    misses; None for a session that does not exist."""
    keys = [session_cache_key(i) for i in session_ids]
    entries: list[dict[str, Any] | None] = await services.cache.get_many_json(SESSION_CACHE, keys)
    missing = [i for i, entry in zip(session_ids, entries, strict=True) if entry is None]
    if not missing:
        return entries
    async with services.db.read() as conn:
        rows = await session_queries.sessions_with_users(conn, missing)
    found = {row.session_id: _entry_from_row(row) for row in rows}
    ttl = services.settings.session_cache_ttl_seconds
    for session_id, entry in found.items():
        await services.cache.fill_json(session_cache_key(session_id), entry, ttl)
    return [
        entry if entry is not None else found.get(i) for i, entry in zip(session_ids, entries, strict=True)
    ]


SessionEntryReader = Callable[[str], Awaitable[dict[str, Any]]]


async def authenticate_bearer(services: Services, token: str) -> Principal:
    """JWT validation, then the session from Redis (or MariaDB when Redis misses or is down)."""
    return await authenticate_claims(services, read_access_token(services.settings, token))


async def authenticate_read_claims(
    services: Services, claims: AccessClaims, cached: bytes | None
) -> Principal:
    """``authenticate_claims`` with the session's cache entry already read from Redis (``cached``,
    None for a miss), in the round trip that charged the request's budget."""
    entry = services.cache.decode_json(SESSION_CACHE, cached)

    async def read_entry(session_id: str) -> dict[str, Any]:
        return await _session_entry_from(services, session_id, entry)

    return await authenticate_claims(services, claims, read_entry)


async def authenticate_claims(
    services: Services, claims: AccessClaims, read_entry: SessionEntryReader | None = None
) -> Principal:
    """The session behind a token already validated (a WebSocket connection checks its token's
    signature once and this per event); ``read_entry`` replaces the lone session read where many
    principals are checked at once."""
    leeway = timedelta(seconds=services.settings.access_token_leeway_seconds)
    if claims.expires_at + leeway <= utcnow():  # the same leeway as read_access_token's
        raise Unauthenticated("access token expired")
    if read_entry is None:
        entry = await _session_entry(services, claims.session_id)
    else:
        entry = await read_entry(claims.session_id)
    principal = _principal_from_entry(entry, utcnow())
    if principal.user_id != claims.user_id:
        raise Unauthenticated("invalid access token")
    return principal


async def _issue(services: Services, session_id: str, refresh: str, now: datetime) -> AuthResult:
    return _result(services, await _session_entry(services, session_id), refresh, now)


def _result(services: Services, entry: dict[str, Any], refresh: str, now: datetime) -> AuthResult:
    principal = _principal_from_entry(entry, now)
    access = issue_access_token(
        services.settings, user_id=principal.user_id, session_id=entry["session_id"], now=now
    )
    return AuthResult(access, refresh, access_token_expiry(services.settings, now), principal)


async def login(ctx: RequestContext, *, email: str, password: str) -> AuthResult:
    services = ctx.services
    email = email.strip().lower()
    # Before the read and the hash: a throttled guess costs neither.
    await count_login(ctx, email)
    async with services.db.read() as conn:
        user = await user_queries.user_for_login(conn, email)
    # The hash is verified even for an unknown email, so timing does not tell which emails exist.
    valid = await services.passwords.verify(user.password_hash if user else None, password)
    if user is None or not valid or user.deactivated_at is not None:
        await login_failed(ctx)
        raise Unauthenticated("invalid email or password")
    # A hash made with older parameters is re-made now, while the password is at hand.
    rehashed = (
        await services.passwords.hash(password)
        if services.passwords.needs_rehash(user.password_hash)
        else None
    )
    now = utcnow()
    session_id = new_session_id()
    refresh = new_refresh_token(session_id)
    async with services.db.unit_of_work() as conn:
        await session_queries.insert_session(
            conn,
            session_id=session_id,
            user_id=user.id,
            refresh_token_hash=refresh.hash,
            expires_at=now + timedelta(seconds=services.settings.refresh_token_ttl_seconds),
        )
        if rehashed is not None:
            await user_writes.upgrade_password_hash(
                conn, user.id, old_hash=user.password_hash, new_hash=rehashed
            )
        # Read in the transaction that made it: a session this young is in no cache, so looking
        # there first would be a round trip certain to miss (and a miss on every sign-in).
        row = await session_queries.session_with_user(conn, session_id)
    await login_succeeded(ctx, email)
    if row is None:  # the row was inserted above in the same transaction
        raise RuntimeError("a session inserted in this transaction was not found")
    entry = _entry_from_row(row)
    await services.cache.fill_json(
        session_cache_key(session_id), entry, services.settings.session_cache_ttl_seconds
    )
    return _result(services, entry, str(refresh), now)


async def refresh(ctx: RequestContext, *, refresh_token: str) -> AuthResult:
    """Rotates the refresh token. A token that was already rotated away revokes the session (theft)."""
    services = ctx.services
    presented = parse_refresh_token(refresh_token)
    now = utcnow()
    async with services.db.read() as conn:
        row = await session_queries.session_with_user(conn, presented.session_id)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthenticated("invalid refresh token")
    if not presented.matches(row.refresh_token_hash):
        await _revoke(services, presented.session_id)
        raise Unauthenticated("refresh token reused; session revoked")
    rotated = new_refresh_token(presented.session_id)
    async with services.db.unit_of_work() as conn:
        swapped = await session_queries.rotate_refresh_token(
            conn,
            session_id=presented.session_id,
            old_hash=presented.hash,
            new_hash=rotated.hash,
            expires_at=now + timedelta(seconds=services.settings.refresh_token_ttl_seconds),
        )
    if not swapped:
        raise Unauthenticated("invalid refresh token")
    return await _issue(services, presented.session_id, str(rotated), now)


async def _revoke(services: Services, session_id: str) -> None:
    """The row first (the truth), then a revoked copy over the cached one.

    A copy, not a delete: a request that read the session just before the revocation fills the
    cache only where nothing is (SET NX), so it cannot bring the live session back.
    """
    now = utcnow()
    async with services.db.unit_of_work() as conn:
        await session_queries.revoke_session(conn, session_id, now)
    revoked = {"session_id": session_id, "revoked_at": now.isoformat()}
    await services.cache.overwrite_json(
        session_cache_key(session_id), revoked, services.settings.session_cache_ttl_seconds
    )


async def overwrite_cached_sessions(
    services: Services, rows: Iterable[Any], *, revoked_at: datetime | None = None
) -> None:
    """After a write changed a user (role, name, deactivation) or revoked their sessions: each
    session in ``rows`` (columns as ``session_with_user`` labels them) gets the rows' copy in the
    cache at once. ``revoked_at`` marks sessions whose rows were read before their revocation.
    An overwrite, not a delete, for the reason ``_revoke`` gives."""
    ttl = services.settings.session_cache_ttl_seconds
    for row in rows:
        if row.session_id is None:
            continue
        entry = _entry_from_row(row)
        if revoked_at is not None:
            entry["revoked_at"] = revoked_at.isoformat()
        await services.cache.overwrite_json(session_cache_key(row.session_id), entry, ttl)


async def logout(ctx: RequestContext) -> bool:
    """Revokes the session at once. An API key has no session to end: revoking it is apiKeyRevoke."""
    principal = ctx.require_principal()
    if principal.is_api_key:
        raise Forbidden("an API key has no session to log out of; revoke the key instead")
    await _revoke(ctx.services, principal.session_id)
    return True
