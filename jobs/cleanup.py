"""The data cleanup job ``run_cleanup()`` (queue ``low``, on the cleanup cron): purges what is past its
time, kind by kind, in bounded batches.

Each batch is one transaction of at most ``cleanup_batch_size`` rows; a kind stops after
``cleanup_max_batches`` batches per run (the rest waits for the next run) or at its first short batch.
Attachment files are removed after their rows' batch has committed, so a failed batch loses no file
its rows still name; a file that cannot be removed is logged and left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from jobs.queues import job_settings, with_database
from persistence.db import Database
from persistence.models.base import utcnow
from persistence.queries.cleanup import (
    Purged,
    clear_idempotency_keys,
    purge_deleted_tasks,
    purge_expired_sessions,
    purge_password_resets,
    purge_webhook_logs,
)
from persistence.settings import Settings
from persistence.storage import FileStore

log = logging.getLogger("taskql.jobs.cleanup")


@dataclass(frozen=True)
class CleanupStep:
    """One kind of row: its name in the job's result, the cutoff before which a row is past its time,
    and the query that purges one batch of them."""

    name: str
    cutoff: Callable[[Settings, datetime], datetime]
    purge: Callable[[AsyncConnection, datetime, int], Awaitable[Purged]]


# What a run purges, in order. A new kind of row is one more step here: a query in
# persistence/queries/cleanup.py and, when it has one, its retention setting.
CLEANUP_STEPS: tuple[CleanupStep, ...] = (
    CleanupStep(
        "deleted_tasks",
        lambda settings, now: now - timedelta(days=settings.deleted_task_retention_days),
        purge_deleted_tasks,
    ),
    CleanupStep("expired_sessions", lambda settings, now: now, purge_expired_sessions),
    CleanupStep("password_resets", lambda settings, now: now, purge_password_resets),
    # The same window as the cached answer to a replayed request (schema/http/view.py).
    CleanupStep(
        "idempotency_keys",
        lambda settings, now: now - timedelta(seconds=settings.idempotency_ttl_seconds),
        clear_idempotency_keys,
    ),
    CleanupStep(
        "webhook_logs",
        lambda settings, now: now - timedelta(days=settings.webhook_log_retention_days),
        purge_webhook_logs,
    ),
)


async def run_cleanup() -> dict[str, int]:
    """The job: how many rows of each kind it purged (its result)."""
    settings = job_settings()
    return await with_database(settings, lambda db: cleanup(db, settings, utcnow()))


async def cleanup(
    db: Database, settings: Settings, now: datetime, steps: Sequence[CleanupStep] = CLEANUP_STEPS
) -> dict[str, int]:
    store = FileStore(settings.upload_root)
    counts: dict[str, int] = {}
    for step in steps:
        cutoff = step.cutoff(settings, now)
        counts[step.name] = 0
        for _ in range(settings.cleanup_max_batches):
            async with db.unit_of_work() as conn:
                purged = await step.purge(conn, cutoff, settings.cleanup_batch_size)
            counts[step.name] += purged.rows
            if purged.storage_keys:
                await asyncio.to_thread(_remove_files, store, purged.storage_keys)
            if purged.rows < settings.cleanup_batch_size:
                break
    log.info("cleanup: %s", counts)
    return counts


def _remove_files(store: FileStore, keys: Sequence[str]) -> None:
    for key in keys:
        try:
            store.remove(key)
        except (OSError, ValueError):
            log.exception("cleanup: could not remove the attachment file %s", key)
