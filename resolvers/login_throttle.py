"""Throttling of logins and password reset requests, per email and per client address.

A login is counted as failed for its email before its password is checked, so that concurrent guesses
at one account cannot all pass the check before any of them counts, and so that a refused guess costs
no argon2 hash; a login that succeeds clears its email's count. Its address is checked before, but
counted only once the login has failed: the people behind one address logging in at once are not
guesses (`make load SCENARIO=peak` had 500 users log in from 127.0.0.1, and counting them up front
refused 306 of them). Unknown emails are counted
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
    ctx: RequestContext,
    kind: str,
    email: str,
    per_email: int,
    per_address: int,
    window_seconds: int,
    *,
    address_counts: bool = True,
) -> int:
    """Counts one attempt against the email's limit and checks the address's (counting it there too
    unless ``address_counts`` is off); the wait (0: let through)."""
    limits = [AttemptLimit(_email_key(kind, email), per_email, window_seconds)]
    if ctx.client_address is not None:
        address = _address_key(kind, ctx.client_address)
        limits.append(AttemptLimit(address, per_address, window_seconds, counts=address_counts))
    return await ctx.services.attempts.take(limits)


async def count_login(ctx: RequestContext, email: str) -> None:
    """Counts this login as failed for its email until ``login_succeeded`` says otherwise (so parallel
    guesses at one account cannot all pass before any counts), and checks its address's failures;
    RateLimited (nothing counted) when either has failed too often."""
    settings = ctx.settings
    wait = await _take(
        ctx,
        "login",
        email,
        settings.login_failures_per_email,
        settings.login_failures_per_address,
        settings.login_failure_window_seconds,
        # An address counts failures only once they are failures: many people behind one address
        # (an office, a proxy) logging in at once are not guesses.
        address_counts=False,
    )
    if wait:
        raise RateLimited(f"too many failed logins; try again in {wait} s", retry_after_seconds=wait)


async def login_failed(ctx: RequestContext) -> None:
    """A wrong email or password: one more failure for the client's address."""
    if ctx.client_address is not None:
        window = ctx.settings.login_failure_window_seconds
        await ctx.services.attempts.count(_address_key("login", ctx.client_address), window)


async def login_succeeded(ctx: RequestContext, email: str) -> None:
    """The email starts afresh (the address's failures stay)."""
    await ctx.services.attempts.clear(_email_key("login", email))


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
