"""Tokens derived, never stored: ``base64url(HMAC-SHA256(key, "<purpose>:" + nonce))`` with a key
derived from the server's JWT secret for that purpose, and a random nonce stored on the row.

A mutation computes the token to store its sha256 (how the token finds its row again); the email job,
which carries only the row's id, reads the nonce and computes it again. So a copy of the database
alone, or of Redis (where RQ keeps a job for days), yields no working token.

The job may run under another key than the mutation did (a rolling deploy rotated it in between, or a
retry came later): it derives the token under each key it holds, current first, and keeps the one
whose sha256 is the row's. Dropping a key voids the unsent tokens it derived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def derived_token(secret: str, purpose: str, nonce: str) -> str:
    """``purpose`` is a slug (``password-reset``, ``invitation``): a token of one purpose is never
    one of another."""
    key = hmac.new(secret.encode(), f"taskql {purpose.replace('-', ' ')}".encode(), hashlib.sha256).digest()
    digest = hmac.new(key, f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def stored_token(secrets: Iterable[str], purpose: str, nonce: str, stored_hash: str) -> str | None:
    """The token the row was made for, derived under whichever of ``secrets`` made it; None when
    none of them did (its key was dropped)."""
    for secret in secrets:
        token = derived_token(secret, purpose, nonce)
        if hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), stored_hash):
            return token
    return None
