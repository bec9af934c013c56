"""Short-lived signed download links: what a plain `<a href>` follows, without an Authorization header.

A link names one object (its kind and database id), the organization and user it was made for, and
its expiry, all under an HMAC-SHA256 signature with a key derived from the JWT signing key, whose id
the link carries (``key``) so that a link made before a key rotation still works after it, for as long
as the previous key is kept; a link without one (made before links named their key) is checked with
the current key. Following it
acts as that user, read again (a deactivated user's or a moved user's links stop at once), and the
object is read in that user's scope: a link is for the object it names, in its own organization, and
nothing else. A changed byte or a passed expiry is 403, whatever the object.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from persistence.enums import OrgRole
from persistence.models.base import utcnow
from persistence.queries import users as user_queries
from persistence.queries.scope import Scope
from persistence.settings import Settings
from resolvers.context import Services
from resolvers.principal import Principal

# The key is not the JWT secret itself: a link's signature can never stand for a token's, or back.
_KEY_LABEL = b"taskql signed download link v1"


class LinkRefused(Exception):
    """A link whose signature does not match, that has expired, or whose user may no longer use it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LinkScope:
    organization_id: int
    user_id: int
    expires_at: datetime


def _signature(secret: str, kind: str, object_id: int, scope: str, expires: str) -> str:
    key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    message = f"{kind}\n{object_id}\n{scope}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_url(settings: Settings, path: str, kind: str, object_id: int, principal: Principal) -> str:
    """``public_base_url + path`` with the query that lets its holder GET it for a few minutes."""
    expires = str(int((utcnow() + timedelta(seconds=settings.signed_url_ttl_seconds)).timestamp()))
    scope = f"{principal.organization_id}.{principal.user_id}"
    signature = _signature(settings.jwt_secret, kind, object_id, scope, expires)
    query = urlencode(
        {"expires": expires, "scope": scope, "key": settings.jwt_signing_key_id, "signature": signature}
    )
    return f"{settings.public_base_url}{path}?{query}"


def is_signed(query: Mapping[str, str]) -> bool:
    return "signature" in query


def verify(settings: Settings, kind: str, object_id: int, query: Mapping[str, str]) -> LinkScope:
    """The scope a link was signed for; LinkRefused when any part of it was changed or it expired."""
    expires, scope = query.get("expires", ""), query.get("scope", "")
    # The key id is not signed: changing it only picks another key, under which the signature fails.
    secret = settings.jwt_verification_keys.get(query.get("key", settings.jwt_signing_key_id))
    if secret is None:
        raise LinkRefused("the link was signed with a key this server no longer holds")
    expected = _signature(secret, kind, object_id, scope, expires)
    if not hmac.compare_digest(expected.encode(), query.get("signature", "").encode()):
        raise LinkRefused("the link's signature does not match")
    # Signed by us, so well formed; expiry is checked only after the signature, so a forged expiry
    # never tells anything.
    organization, _, user = scope.partition(".")
    expires_at = datetime.fromtimestamp(int(expires), UTC)
    if expires_at <= utcnow():
        raise LinkRefused("the link has expired: ask the API for a new one")
    return LinkScope(int(organization), int(user), expires_at)


async def link_principal(services: Services, link: LinkScope) -> Principal:
    """The user the link was made for, as they are now: still active and in the same organization."""
    scope = Scope(organization_id=link.organization_id, user_id=link.user_id, sees_all_projects=False)
    async with services.db.read() as conn:
        rows = await user_queries.users_by_ids(conn, scope, [link.user_id])
    if not rows or rows[0].deactivated_at is not None:
        raise LinkRefused("the link's user may no longer use it")
    user = rows[0]._asdict()
    return Principal(
        user_id=link.user_id,
        organization_id=link.organization_id,
        role=OrgRole(user["role"]),
        is_operator=False,  # a link reads one object as a member would; it never carries operator rights
        session_id=f"link:{link.user_id}",
        expires_at=link.expires_at,
        user=user,
        organization={"id": link.organization_id},
    )
