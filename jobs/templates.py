"""Every email's assembly (``compose``) and stable Message-ID; a notification's email and a push's
title and body (the email's subject and first line), from their templates in jobs/email_templates/.

The Message-ID names the notification's event and recipient (the notification's unique key), so every
attempt at the same email carries the same id and a receiver can drop a duplicate after a crash-retry.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from jobs.email_text import render, render_html
from jobs.notices import Notice
from persistence.enums import NotificationKind

# Each kind's subject and lead: notification_<kind>.subject and .lead in jobs/email_templates/.
_TEMPLATE_NAMES = {
    NotificationKind.ASSIGNED: "notification_assigned",
    NotificationKind.MENTIONED: "notification_mentioned",
}


def stable_message_id(local_part: str, sender: str) -> str:
    """``<local_part@the sender's domain>``: derived from what the email is about, never random, so
    every attempt at the same email carries the same id."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "taskql.invalid"
    return f"<{local_part}@{domain}>"


def message_id(event_id: int, recipient_id: int, sender: str) -> str:
    """``<notification.<event>.<recipient>@<the sender's domain>>``: the same for every attempt."""
    return stable_message_id(f"notification.{event_id}.{recipient_id}", sender)


def compose(
    *, subject: str, sender: str, to_name: str, to_email: str, message_id: str, text: str, html_body: str
) -> EmailMessage:
    """An automatic email with both bodies; ``html_body`` must already be escaped."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = Address(display_name=to_name, addr_spec=to_email)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html_body, subtype="html")
    return message


def _words(notice: Notice) -> dict[str, str]:
    return {"actor": notice.actor_name, "title": notice.task_title, "project": notice.project_name}


def push_text(notice: Notice) -> tuple[str, str]:
    """A push's title and body: the email's subject and lead, plain text."""
    name, words = _TEMPLATE_NAMES[notice.kind], _words(notice)
    return render(f"{name}.subject", words), render(f"{name}.lead", words)


def build_message(email: Notice, link: str, sender: str) -> EmailMessage:
    name, words = _TEMPLATE_NAMES[email.kind], _words(email)
    lead, comment = render(f"{name}.lead", words), email.comment_body
    quote = render("notification_quote.txt", {"comment": comment.replace("\n", "\n> ")}) if comment else ""
    html_quote = render_html("notification_quote.html", {"comment": comment}) if comment else ""
    return compose(
        subject=render(f"{name}.subject", words),
        sender=sender,
        to_name=email.recipient_name,
        to_email=email.recipient_email,
        message_id=message_id(email.event_id, email.recipient_id, sender),
        text=render(
            "notification.txt",
            {"recipient": email.recipient_name, "lead": lead, "quote": quote, "link": link},
        ),
        html_body=render_html(
            "notification.html",
            {"recipient": email.recipient_name, "link": link},
            fragments={"lead": render_html(f"{name}.lead", words), "quote": html_quote},
        ),
    )
