"""The push job: ``deliver_notification_push(notification_id)``, one POST per device of the recipient.

Like the email job it takes only the id, reads the notice when it runs and delivers nothing when the
notification may no longer be delivered (jobs/notices.py). Each of the recipient's devices gets one
JSON POST to ``TASKQL_PUSH_GATEWAY_URL`` carrying ``delivery_id`` ``push-<notification>-<device>``:
the same on every attempt, so the gateway drops what it had already accepted. The gateway's answers:
2xx delivered; 410 the token is dead, so the device row is deleted; anything else (or no answer) is
a failure. The job tries every device first, then raises if any failed, and RQ retries it by
``PUSH_RETRY``: the retry POSTs again to every device still registered, the delivered ones included,
under the same delivery ids (the gateway is expected to deduplicate on them; at-least-once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from jobs.notices import Notice, load_notice
from jobs.queues import job_settings, read_once, write_once
from jobs.templates import push_text
from jobs.tls import tls_context
from persistence.queries.push_devices import devices_of, prune_devices
from persistence.queries.rows import AnyRow

log = logging.getLogger("taskql.jobs.push")

SENT = "sent"
SKIPPED = "skipped"
GONE = 410


class PushFailed(Exception):
    """Some device's push was not accepted (nor refused for good): RQ retries the job."""


@dataclass(frozen=True)
class _Recipient:
    notice: Notice
    devices: Sequence[AnyRow]


def delivery_id(notification_id: int, device_id: int) -> str:
    return f"push-{notification_id}-{device_id}"


def push_payload(notice: Notice, device: AnyRow) -> dict[str, Any]:
    title, body = push_text(notice)
    return {
        "delivery_id": delivery_id(notice.notification_id, device.id),
        "token": device.token,
        "platform": str(device.platform),
        "title": title,
        "body": body,
        "data": {
            "notification_id": notice.notification_id,
            "kind": notice.kind.value,
            "task_id": notice.task_id,
        },
    }


async def _recipient(conn: AsyncConnection, notification_id: int) -> _Recipient | None:
    notice = await load_notice(conn, notification_id)
    if notice is None:
        return None
    return _Recipient(notice, await devices_of(conn, notice.recipient_id))


async def deliver_notification_push(notification_id: int) -> str:
    """Pushes one notification to each device of its recipient; ``"sent"`` or ``"skipped"``."""
    settings = job_settings()
    if not settings.push_gateway_url:
        return SKIPPED
    recipient = await read_once(settings, lambda conn: _recipient(conn, notification_id))
    if recipient is None or not recipient.devices:
        log.info("notification %d: no push (not deliverable, or no device)", notification_id)
        return SKIPPED
    gone: list[tuple[int, str]] = []
    failed: list[str] = []
    async with httpx.AsyncClient(timeout=settings.push_timeout_seconds, verify=tls_context()) as client:
        for device in recipient.devices:
            payload = push_payload(recipient.notice, device)
            try:
                status = (await client.post(settings.push_gateway_url, json=payload)).status_code
            except httpx.HTTPError as error:
                failed.append(f"{payload['delivery_id']}: {error!r}")
                continue
            if status == GONE:
                gone.append((int(device.id), str(device.token)))
            elif not 200 <= status < 300:
                failed.append(f"{payload['delivery_id']}: HTTP {status}")
    if gone:
        pruned = await write_once(settings, lambda conn: prune_devices(conn, gone))
        log.info("notification %d: pruned %d device(s) the gateway called gone", notification_id, pruned)
    if failed:
        raise PushFailed("; ".join(failed))
    return SENT
