"""API keys: organization admins make, list and revoke them; third parties authenticate with them.

A key's text is ``tq_<prefix>_<secret>``, shown once when it is made. The prefix is public (it finds
the row, and the admins' list shows it); only the sha256 of the secret is stored. A key acts as the
user who made it: that user's organization role decides what it sees, and it stops working when the
user is deactivated. It never carries the user's platform-operator power, and it cannot make keys.

The lookup is cached in Redis like a session (fail-open): a warm request costs no statement, a cold
one a single SELECT. Revoking replaces the cached entry with a revoked one at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from persistence.enums import ApiKeyScope, OrgRole
from persistence.models.base import utcnow
from persistence.queries import api_keys as queries
from persistence.queries.records import api_key_record
from persistence.queries.rows import AnyRow
from persistence.records import ApiKeyRecord
from resolvers.auth import identity_entry
from resolvers.context import RequestContext, Services
from resolvers.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from resolvers.principal import Principal

API_KEY_CACHE = "api_key"
KEY_MARK = "tq"
PREFIX_LENGTH = 10
# Letters and digits only: "_" separates the key's parts, and the secret (url-safe base64) may hold one.
_PREFIX_ALPHABET = string.ascii_letters + string.digits
SECRET_BYTES = 32
MAX_NAME = 100
# A key without an expiry lives until it is revoked.
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CreatedKey:
    """The key's row and its full text, which is never shown again."""

    row: AnyRow

    @property
    def api_key(self) -> ApiKeyRecord:
        return api_key_record(self.row)

    key: str


def api_key_cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(key_text: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None (refused before any lookup)."""
    mark, _, rest = key_text.partition("_")
    prefix, _, secret = rest.partition("_")
    well_formed = (
        mark == KEY_MARK
        and len(prefix) == PREFIX_LENGTH
        and all(c in _PREFIX_ALPHABET for c in prefix)
        and 0 < len(secret) <= 100
    )
    return (prefix, secret) if well_formed else None


def _admin(ctx: RequestContext) -> Principal:
    principal = ctx.require_principal()
    if not principal.is_org_admin:
        raise Forbidden("only organization owners and admins manage API keys")
    return principal


def _checked_name(name: str) -> str:
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise BadUserInput(f"a name has 1 to {MAX_NAME} characters", argument="input.name")
    return name


async def list_api_keys(ctx: RequestContext) -> list[ApiKeyRecord]:
    """The organization's keys, oldest first, revoked and expired ones included (no secrets)."""
    principal = _admin(ctx)
    async with ctx.db.read() as conn:
        rows = await queries.keys_of(conn, principal.organization_id)
    return [api_key_record(row) for row in rows]


async def create_api_key(
    ctx: RequestContext, *, name: str, scope: ApiKeyScope, expires_at: datetime | None
) -> CreatedKey:
    principal = _admin(ctx)
    if principal.is_api_key:
        raise Forbidden("an API key cannot make API keys; sign in")
    name = _checked_name(name)
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise BadUserInput("the expiry must be in the future", argument="input.expiresAt")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    values = {
        "organization_id": principal.organization_id,
        "created_by_user_id": principal.user_id,
        "name": name,
        "prefix": prefix,
        "secret_hash": _secret_hash(secret),
        "scope": scope,
        "expires_at": expires_at,
        "created_at": now,
    }
    async with ctx.db.unit_of_work() as conn:
        row = await queries.insert_key(conn, values)
    return CreatedKey(row, f"{KEY_MARK}_{prefix}_{secret}")


async def revoke_api_key(ctx: RequestContext, *, api_key_id: int) -> ApiKeyRecord:
    """Revokes the key at once; a key revoked already is returned as it is (its first revocation kept).
    Another organization's key is NOT_FOUND, as a missing one."""
    principal = _admin(ctx)
    async with ctx.db.unit_of_work() as conn:
        row = await queries.key(conn, principal.organization_id, api_key_id, with_secret_hash=True)
        if row is None:
            raise NotFound("API key")
        if row.revoked_at is None:
            await queries.revoke_key(conn, principal.organization_id, api_key_id, utcnow())
            row = await queries.key(conn, principal.organization_id, api_key_id, with_secret_hash=True)
            if row is None:
                raise NotFound("API key")
    # An overwrite, not a delete: a request that read the key just before the revocation fills the
    # cache only where nothing is (SET NX), so it cannot bring the live key back (as for sessions).
    revoked = {"api_key_id": row.id, "secret_hash": row.secret_hash, "revoked_at": row.revoked_at.isoformat()}
    await ctx.services.cache.overwrite_json(
        api_key_cache_key(row.prefix), revoked, ctx.settings.api_key_cache_ttl_seconds
    )
    return api_key_record(row)


def _entry_from_row(row: AnyRow) -> dict[str, Any]:
    """What the cache holds for a key: its state, its hash, and the user and organization it acts as."""
    return {
        "api_key_id": row.id,
        "secret_hash": row.secret_hash,
        "scope": str(row.scope),
        "expires_at": None if row.expires_at is None else row.expires_at.isoformat(),
        "revoked_at": None if row.revoked_at is None else row.revoked_at.isoformat(),
        **identity_entry(row),
    }


async def _key_entry(services: Services, prefix: str) -> dict[str, Any] | None:
    cache_key = api_key_cache_key(prefix)
    entry = await services.cache.get_json(API_KEY_CACHE, cache_key)
    if entry is not None:
        return dict(entry)
    async with services.db.read() as conn:
        row = await queries.key_with_user(conn, prefix)
    if row is None:
        return None
    entry = _entry_from_row(row)
    ttl = services.settings.api_key_cache_ttl_seconds
    await services.cache.fill_json(cache_key, entry, ttl)
    # Indexed by user, so a change to the user (deactivation, role) can drop the copies at once.
    await services.cache.add_member(_keys_of_user(entry["user"]["id"]), prefix, ttl)
    return entry


def _keys_of_user(user_id: int) -> str:
    return f"apikeys-of-user:{user_id}"


async def forget_cached_keys_of(services: Services, user_id: int) -> None:
    """Drops the cached lookups of the user's keys after a write changed the user: their next request
    reads the user as it is now. (A lookup that read the row before that write's commit could still
    put its copy back for up to the cache's TTL: a narrow race, bounded by ``api_key_cache_ttl_seconds``.)"""
    prefixes = await services.cache.members(_keys_of_user(user_id))
    await services.cache.delete(*(api_key_cache_key(prefix) for prefix in prefixes))


def _principal_from_entry(entry: dict[str, Any], now: datetime) -> Principal:
    if entry["revoked_at"] is not None:
        raise Unauthenticated("API key revoked")
    expires_at = NEVER if entry["expires_at"] is None else datetime.fromisoformat(entry["expires_at"])
    if expires_at <= now:
        raise Unauthenticated("API key expired")
    user = entry["user"]
    if user["deactivated_at"] is not None:
        raise Unauthenticated("the API key's user is deactivated")
    return Principal(
        user_id=user["id"],
        organization_id=user["organization_id"],
        role=OrgRole(user["role"]),
        # Operators' service-wide powers stay with a signed-in operator, never with a key.
        is_operator=False,
        session_id=f"apikey:{entry['api_key_id']}",
        expires_at=expires_at,
        user=user,
        organization=entry["organization"],
        api_key_id=entry["api_key_id"],
        api_key_scope=entry["scope"],
    )


async def authenticate_api_key(services: Services, key_text: str) -> Principal:
    """The principal of an ``X-Api-Key``: looked up by its prefix (Redis, else one SELECT), the secret
    compared in constant time; UNAUTHENTICATED for an unknown, wrong, revoked or expired key."""
    parts = _split(key_text.strip())
    if parts is None:
        raise Unauthenticated("invalid API key")
    prefix, secret = parts
    entry = await _key_entry(services, prefix)
    # The secret is checked before anything about the key is told: the prefix alone is public.
    if entry is None or not hmac.compare_digest(entry["secret_hash"], _secret_hash(secret)):
        raise Unauthenticated("invalid API key")
    return _principal_from_entry(entry, utcnow())
