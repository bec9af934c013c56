"""One signed webhook POST to a pinned address, and what came of it (never raises for the network).

The signature is ``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` in ``Taskql-Signature``, with
the Unix timestamp in ``Taskql-Timestamp``: the receiver recomputes it over the raw body and refuses a
stale timestamp, so a captured request cannot be replayed later. ``Taskql-Delivery`` is the stable
delivery id (the same on every attempt and redelivery): the receiver drops a duplicate by it.
Redirects are not followed (a redirect could lead anywhere, past the address check), and the
environment's proxies are ignored (a proxy would connect by name, past the pinning).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from jobs.ssrf import Target
from jobs.tls import tls_context
from persistence.enums import AttemptOutcome
from persistence.models.base import utcnow

USER_AGENT = "taskql-webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


@dataclass(frozen=True)
class Sent:
    started_at: datetime
    duration_ms: int
    outcome: AttemptOutcome
    response_code: int | None = None
    error: str | None = None


def post(target: Target, *, secret: str, delivery: str, event_type: str, body: bytes, timeout: float) -> Sent:
    """POSTs ``body`` to the target's pinned address; any 2xx is a success."""
    timestamp = int(time.time())
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Taskql-Delivery": delivery,
        "Taskql-Event": event_type,
        "Taskql-Timestamp": str(timestamp),
        "Taskql-Signature": signature(secret, timestamp, body),
    }
    # TLS names (SNI) and verifies the host's certificate, though the connection goes to the address.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started_at, clock = utcnow(), time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - clock) * 1000)

    try:
        client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context())
        with client:
            response = client.post(target.pinned_url, content=body, headers=headers, extensions=extensions)
    except httpx.TimeoutException as exc:
        return Sent(
            started_at, elapsed(), AttemptOutcome.TIMEOUT, error=f"no answer within {timeout} s ({exc!r})"
        )
    except httpx.HTTPError as exc:
        return Sent(started_at, elapsed(), AttemptOutcome.CONNECTION_ERROR, error=repr(exc))
    code = response.status_code
    if 200 <= code < 300:
        return Sent(started_at, elapsed(), AttemptOutcome.SUCCESS, code)
    return Sent(started_at, elapsed(), AttemptOutcome.HTTP_ERROR, code, f"HTTP {code}")
