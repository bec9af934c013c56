"""Access tokens (HS256 JWTs, short-lived) and opaque refresh tokens bound to a session row.

An access token names the key that signed it in its header's ``kid``: a rolling deploy adds a new
signing key while the previous ones still verify (``TASKQL_JWT_PREVIOUS_SECRETS``), so nobody is signed
out. A token with an unknown ``kid`` is refused; one without a ``kid`` (issued before tokens carried one)
is read with the current key, as it was signed. Refresh tokens are random and stored as a hash, so no
key touches them and a rotation leaves them alone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from persistence.settings import Settings
from resolvers.errors import Unauthenticated

_ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: str
    expires_at: datetime


def access_token_expiry(settings: Settings, now: datetime) -> datetime:
    """When a token issued at ``now`` expires, to the whole second as its ``exp`` says: what the API
    tells the client, which would otherwise see a moment later than the token's own."""
    expires = now + timedelta(seconds=settings.access_token_ttl_seconds)
    return datetime.fromtimestamp(int(expires.timestamp()), UTC)


def issue_access_token(settings: Settings, *, user_id: int, session_id: str, now: datetime) -> str:
    claims = {
        "iss": settings.jwt_issuer,
        "sub": str(user_id),
        "sid": session_id,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int(access_token_expiry(settings, now).timestamp()),
    }
    return jwt.encode(
        claims, settings.jwt_secret, algorithm=_ALGORITHM, headers={"kid": settings.jwt_signing_key_id}
    )


def _verification_key(settings: Settings, token: str) -> str:
    """The key named by the token's ``kid``; the current key for a token from before key ids."""
    try:
        key_id = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("invalid access token") from exc
    if key_id is None:
        return settings.jwt_secret
    # PyJWT has checked that a kid is a string.
    key = settings.jwt_verification_keys.get(key_id)
    if key is None:
        raise Unauthenticated("access token signed with an unknown key")
    return key


def read_access_token(settings: Settings, token: str) -> AccessClaims:
    """Checks signature (HS256 only: ``alg: none`` and others are refused), expiry, issuer and type."""
    key = _verification_key(settings, token)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            issuer=settings.jwt_issuer,
            leeway=settings.access_token_leeway_seconds,
            options={"require": ["exp", "iat", "sub", "sid", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("access token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("invalid access token") from exc
    if (
        claims.get("typ") != "access"
        or not str(claims["sub"]).isdigit()
        or not isinstance(claims["sid"], str)
    ):
        raise Unauthenticated("invalid access token")
    return AccessClaims(
        user_id=int(claims["sub"]),
        session_id=claims["sid"],
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


def new_session_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class RefreshToken:
    session_id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.session_id}.{self.secret}"

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.secret.encode()).hexdigest()

    def matches(self, stored_hash: str) -> bool:
        return hmac.compare_digest(self.hash, stored_hash)


def new_refresh_token(session_id: str) -> RefreshToken:
    return RefreshToken(session_id=session_id, secret=secrets.token_urlsafe(32))


def parse_refresh_token(raw: str) -> RefreshToken:
    session_id, _, secret = raw.partition(".")
    if len(session_id) != 32 or not secret or len(raw) > 200:
        raise Unauthenticated("invalid refresh token")
    return RefreshToken(session_id=session_id, secret=secret)
