"""The password reset email: its token, its message and its job ``deliver_password_reset_email(reset_id)``.

The token is derived, never stored (jobs/tokens.py): the mutation computes it from the row's nonce to
store its sha256 (how ``passwordResetConfirm`` finds the row); the job, which carries only the reset's
id, computes it again for the email, under whichever key it was made with. Dropping that key voids
an outstanding reset (the user asks again).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from jobs.email import SKIPPED, send_message
from jobs.email_text import render, render_html
from jobs.links import password_reset_link
from jobs.queues import job_settings, read_once
from jobs.templates import compose, stable_message_id
from jobs.tokens import derived_token, stored_token
from persistence.models.base import utcnow
from persistence.queries.password_resets import reset_for_email

log = logging.getLogger("taskql.jobs.email")


def reset_token(secret: str, nonce: str) -> str:
    return derived_token(secret, "password-reset", nonce)


def reset_message_id(reset_id: int, sender: str) -> str:
    """``<password-reset.<id>@<the sender's domain>>``: the same for every attempt."""
    return stable_message_id(f"password-reset.{reset_id}", sender)


def build_reset_message(
    *, reset_id: int, email: str, name: str, token: str, link: str, expires: str, sender: str
) -> EmailMessage:
    words = {"name": name, "expires": expires, "token": token, "link": link}
    return compose(
        subject=render("password_reset.subject", {}),
        sender=sender,
        to_name=name,
        to_email=email,
        message_id=reset_message_id(reset_id, sender),
        text=render("password_reset.txt", words),
        html_body=render_html("password_reset.html", words),
    )


async def deliver_password_reset_email(reset_id: int) -> str:
    """Sends the reset's email; skipped (and successful) when the reset is gone, used or expired,
    or its user deactivated. An SMTP failure raises and RQ retries it with the same Message-ID."""
    settings = job_settings()
    row = await read_once(settings, lambda conn: reset_for_email(conn, reset_id))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or row.deactivated_at is not None:
        log.info("password reset %d: no email (gone, used, expired or user deactivated)", reset_id)
        return SKIPPED
    token = stored_token(settings.jwt_verification_keys.values(), "password-reset", row.nonce, row.token_hash)
    if token is None:
        log.warning("password reset %d: no email (its token's key is no longer held)", reset_id)
        return SKIPPED
    message = build_reset_message(
        reset_id=reset_id,
        email=row.email,
        name=row.name,
        token=token,
        link=password_reset_link(settings, token),
        expires=row.expires_at.strftime("%Y-%m-%d %H:%M"),
        sender=settings.smtp_from,
    )
    # Blocking, but on this job's own event loop (nothing else runs on it).
    return send_message(settings, message)
