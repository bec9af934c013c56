"""Tokens derived, never stored: ``base64url(HMAC-SHA256(key, "<purpose>:" + nonce))`` with a key
derived from the server's JWT secret for that purpose, and a random nonce stored on the row.

A mutation computes the token to store its sha256 (how the token finds its row again); the email job,
which carries only the row's id, reads the nonce and computes it again. So a copy of the database
alone, or of Redis (where RQ keeps a job for days), yields no working token. Rotating the secret voids
outstanding tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def derived_token(secret: str, purpose: str, nonce: str) -> str:
    """``purpose`` is a slug (``password-reset``, ``invitation``): a token of one purpose is never
    one of another."""
    key = hmac.new(secret.encode(), f"taskql {purpose.replace('-', ' ')}".encode(), hashlib.sha256).digest()
    digest = hmac.new(key, f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
