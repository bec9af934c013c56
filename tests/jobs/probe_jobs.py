"""Jobs that exist for the worker tests only (the worker imports them by name, as any job)."""

from __future__ import annotations

from sqlalchemy import text

from jobs.queues import job_settings, read_once


async def connection_after_sleeping(seconds: float) -> int:
    """Sleeps in MariaDB (so a timeout stops the job mid-query), then names the connection it used."""

    async def read(conn: object) -> int:
        await conn.execute(text("SELECT SLEEP(:s)"), {"s": seconds})  # type: ignore[attr-defined]
        return int(await conn.scalar(text("SELECT CONNECTION_ID()")))  # type: ignore[attr-defined]

    return await read_once(job_settings(), read)
