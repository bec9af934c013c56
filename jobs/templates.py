"""Notification texts: the emails' plain-text and HTML bodies and stable Message-ID, and a push's
title and body (the email's subject and first line).

The Message-ID names the notification's event and recipient (the notification's unique key), so every
attempt at the same email carries the same id and a receiver can drop a duplicate after a crash-retry.
"""

from __future__ import annotations

import html
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from string import Template

from jobs.notices import Notice
from persistence.enums import NotificationKind

_SUBJECTS = {
    NotificationKind.ASSIGNED: Template("[$project] $actor assigned you: $title"),
    NotificationKind.MENTIONED: Template("[$project] $actor mentioned you on: $title"),
}
_LEADS = {
    NotificationKind.ASSIGNED: Template("$actor assigned you the task “$title” in $project."),
    NotificationKind.MENTIONED: Template("$actor mentioned you in a comment on “$title” in $project."),
}
_TEXT = Template(
    "Hello $recipient,\n\n$lead\n$quote\n-- \ntaskql: you get this because of your notifications.\n"
)
_HTML = Template(
    "<!doctype html>\n<html><body>\n<p>Hello $recipient,</p>\n<p>$lead</p>\n$quote"
    '<p style="color:#666">taskql: you get this because of your notifications.</p>\n</body></html>\n'
)


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


def push_text(notice: Notice) -> tuple[str, str]:
    """A push's title and body: the email's subject and lead, plain text."""
    words = {"actor": notice.actor_name, "title": notice.task_title, "project": notice.project_name}
    return _SUBJECTS[notice.kind].substitute(words), _LEADS[notice.kind].substitute(words)


def build_message(email: Notice, sender: str) -> EmailMessage:
    words = {"actor": email.actor_name, "title": email.task_title, "project": email.project_name}
    lead = _LEADS[email.kind].substitute(words)
    html_lead = _LEADS[email.kind].substitute({key: html.escape(value) for key, value in words.items()})
    quote = f"\n> {email.comment_body.replace(chr(10), chr(10) + '> ')}\n" if email.comment_body else ""
    html_quote = f"<blockquote>{html.escape(email.comment_body)}</blockquote>\n" if email.comment_body else ""
    return compose(
        subject=_SUBJECTS[email.kind].substitute(words),
        sender=sender,
        to_name=email.recipient_name,
        to_email=email.recipient_email,
        message_id=message_id(email.event_id, email.recipient_id, sender),
        text=_TEXT.substitute(recipient=email.recipient_name, lead=lead, quote=quote),
        html_body=_HTML.substitute(
            recipient=html.escape(email.recipient_name), lead=html_lead, quote=html_quote
        ),
    )
