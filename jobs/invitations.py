"""The invitation email: its token, its message and its job ``deliver_invitation_email(invitation_id)``.

The token is derived, never stored (jobs/tokens.py): ``userInvite`` computes it from the row's nonce,
stores its sha256 and shows it to the inviter once; this job computes it again for the invitee. The
email says who invited them to which organization, with which role, and how to accept: the token with
the ``invitationAccept`` mutation, before the invitation expires.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from jobs.email import SKIPPED, send_message
from jobs.email_text import render, render_html
from jobs.links import invitation_link
from jobs.queues import job_settings, read_once
from jobs.templates import compose, stable_message_id
from jobs.tokens import derived_token, stored_token
from persistence.models.base import utcnow
from persistence.queries.rows import AnyRow
from persistence.queries.user_writes import invitation_for_email

log = logging.getLogger("taskql.jobs.email")


def invitation_token(secret: str, nonce: str) -> str:
    return derived_token(secret, "invitation", nonce)


def invitation_message_id(invitation_id: int, sender: str) -> str:
    """``<invitation.<id>@<the sender's domain>>``: the same for every attempt."""
    return stable_message_id(f"invitation.{invitation_id}", sender)


def build_invitation_message(invitation: AnyRow, token: str, link: str, sender: str) -> EmailMessage:
    words = {
        "inviter": invitation.inviter_name,
        "organization": invitation.organization_name,
        "role": str(invitation.role),
        "expires": invitation.expires_at.strftime("%Y-%m-%d %H:%M"),
        "token": token,
        "link": link,
    }
    return compose(
        subject=render("invitation.subject", words),
        sender=sender,
        to_name="",
        to_email=invitation.email,
        message_id=invitation_message_id(invitation.id, sender),
        text=render("invitation.txt", words),
        html_body=render_html("invitation.html", words),
    )


async def deliver_invitation_email(invitation_id: int) -> str:
    """Sends the invitation's email; skipped (and successful) when the invitation is gone, accepted,
    expired, or older than its nonce. An SMTP failure raises and RQ retries with the same Message-ID."""
    settings = job_settings()
    row = await read_once(settings, lambda conn: invitation_for_email(conn, invitation_id))
    if row is None or row.nonce is None or row.accepted_at is not None or row.expires_at <= utcnow():
        log.info("invitation %d: no email (gone, accepted, expired or made before emails)", invitation_id)
        return SKIPPED
    token = stored_token(settings.jwt_verification_keys.values(), "invitation", row.nonce, row.token_hash)
    if token is None:
        log.warning("invitation %d: no email (its token's key is no longer held)", invitation_id)
        return SKIPPED
    # Blocking, but on this job's own event loop (nothing else runs on it).
    message = build_invitation_message(row, token, invitation_link(settings, token), settings.smtp_from)
    return send_message(settings, message)
