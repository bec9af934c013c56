"""The links emails carry, all from one setting (``TASKQL_PUBLIC_BASE_URL``): the web app's pages for a
password reset, an invitation and a task. An email is read far from the server, so every link is
absolute; the tokens ride in the query, URL-encoded."""

from __future__ import annotations

from urllib.parse import urlencode

from persistence.compiled.ids import encode_global_id
from persistence.settings import Settings


def password_reset_link(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url}/reset-password?{urlencode({'token': token})}"


def invitation_link(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url}/invitations/accept?{urlencode({'token': token})}"


def task_link(settings: Settings, task_id: int) -> str:
    """The task's page, by its global id (what `task(id:)` and `node(id:)` take)."""
    return f"{settings.public_base_url}/tasks/{encode_global_id('Task', task_id)}"
