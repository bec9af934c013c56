"""What one request got back, in a word the report can count: ``ok``, ``503`` (an outage told as the
contract says: SERVICE_UNAVAILABLE with Retry-After), ``503 OVERLOADED`` (shed by admission control, with
Retry-After: docs/api.md), any other 5xx by its status, a transport error by its exception, or a
refusal by its code. A 5xx that is neither of the two documented 503s is the server misbehaving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

OK = "ok"
OUTAGE = "503"
SHED = "503 OVERLOADED"
INTERNAL = "INTERNAL_SERVER_ERROR"


@dataclass(frozen=True)
class Attempt:
    at: float  # time.monotonic() when the answer (or the error) came
    outcome: str


def transport_outcome(error: Exception) -> str:
    return f"transport {type(error).__name__}"


def _codes(body: dict[str, Any]) -> list[str]:
    return [str((error.get("extensions") or {}).get("code")) for error in body.get("errors") or []]


def outcome_of(response: httpx.Response) -> str:
    """The answer's word; a 200 carrying a GraphQL error says its code."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    codes = _codes(body) if isinstance(body, dict) else []
    if status == 503:
        if response.headers.get("retry-after") and codes in (["SERVICE_UNAVAILABLE"], ["OVERLOADED"]):
            return OUTAGE if codes == ["SERVICE_UNAVAILABLE"] else SHED
        return f"503 {','.join(codes) or 'unexplained'} without Retry-After"
    if status >= 500:
        return str(status)
    if status != 200:
        return f"{status} {','.join(codes)}"
    if codes:
        return f"200 {','.join(codes)}"
    return OK


def retryable(outcome: str) -> bool:
    """An outage, a crash, a lost connection: the same request may be sent again (a write with its
    Idempotency-Key). A refusal (4xx, a GraphQL error that is not an outage) is final."""
    return (
        outcome.startswith(("transport", "5"))
        or outcome.endswith("SERVICE_UNAVAILABLE")
        or outcome.startswith("429")
    )


def misbehaved(outcome: str) -> bool:
    """A server error that is not one of the documented 503s."""
    return (outcome.startswith("5") and outcome not in (OUTAGE, SHED)) or INTERNAL in outcome
