"""When a virtual user renews its access token: as a real client does, a little before the token's
`accessTokenExpiresAt`, so no request of a long run is sent with an expired token (a 401 the server
would be right to give). Its own module, without Locust, so a test can check the decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Renew this long before expiry: more than a request's worst latency under load (the seed's max for
# auth is 0.5 s, a shed request waits up to a few seconds) plus the 1-3 s wait between requests.
REFRESH_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class AccessToken:
    token: str
    refresh_token: str
    expires_at: float  # Unix time

    @classmethod
    def from_payload(cls, payload: dict[str, str]) -> AccessToken:
        """From an authLogin or authRefresh payload (`accessTokenExpiresAt` is ISO 8601 with its zone)."""
        expires = datetime.fromisoformat(payload["accessTokenExpiresAt"])
        if expires.tzinfo is None:  # the API speaks UTC
            expires = expires.replace(tzinfo=UTC)
        return cls(payload["accessToken"], payload["refreshToken"], expires.timestamp())

    def needs_refresh(self, now: float, margin: float = REFRESH_MARGIN_SECONDS) -> bool:
        """True once less than ``margin`` seconds of the token's life remain (or it has run out)."""
        return self.expires_at - now < margin

    def expired(self, now: float) -> bool:
        return now >= self.expires_at
