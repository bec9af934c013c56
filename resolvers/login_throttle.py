"""Throttling of logins and password reset requests, per email and per client address.

A login is counted as failed before its password is checked, so that concurrent guesses cannot all
pass the check before any of them counts, and so that a refused guess costs no argon2 hash; a login
that succeeds then takes its count back (and clears its email's count). Unknown emails are counted
like known ones: the answer never tells whether an email has an account. Reset requests are counted
whatever their outcome, since each may send an email.

Emails are hashed into the counters' keys, so Redis holds no list of who tried to log in. With Redis
away nothing is throttled (persistence/attempts.py fails open).
"""

from __future__ import annotations

import hashlib

from persistence.attempts import AttemptLimit
from resolvers.context import RequestContext
from resolvers.errors import RateLimited


def _email_key(kind: str, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"{kind}:email:{digest}"


def _address_key(kind: str, address: str) -> str:
    return f"{kind}:address:{address}"


async def _take(
    ctx: RequestContext, kind: str, email: str, per_email: int, per_address: int, window_seconds: int
) -> int:
    """Counts one attempt against the email's and the address's limits; the wait (0: counted)."""
    limits = [AttemptLimit(_email_key(kind, email), per_email, window_seconds)]
    if ctx.client_address is not None:
        limits.append(AttemptLimit(_address_key(kind, ctx.client_address), per_address, window_seconds))
    return await ctx.services.attempts.take(limits)


async def count_login(ctx: RequestContext, email: str) -> None:
    """Counts this login as failed until ``login_succeeded`` says otherwise; RateLimited (nothing
    counted) when the email or the address has failed too often."""
    settings = ctx.settings
    wait = await _take(
        ctx,
        "login",
        email,
        settings.login_failures_per_email,
        settings.login_failures_per_address,
        settings.login_failure_window_seconds,
    )
    if wait:
        raise RateLimited(f"too many failed logins; try again in {wait} s", retry_after_seconds=wait)


async def login_succeeded(ctx: RequestContext, email: str) -> None:
    """The email starts afresh; the address only loses this login's count (its other failures stay)."""
    attempts = ctx.services.attempts
    await attempts.clear(_email_key("login", email))
    if ctx.client_address is not None:
        await attempts.give_back(_address_key("login", ctx.client_address))


async def count_reset_request(ctx: RequestContext, email: str) -> None:
    """Counts a password reset request; RateLimited (nothing counted) over either limit."""
    settings = ctx.settings
    wait = await _take(
        ctx,
        "reset",
        email,
        settings.reset_requests_per_email,
        settings.reset_requests_per_address,
        settings.reset_request_window_seconds,
    )
    if wait:
        raise RateLimited(
            f"too many password reset requests; try again in {wait} s", retry_after_seconds=wait
        )
