"""The drill's verdict, read from the database once the load has stopped: which acknowledged writes
are there (once each), and which of the project's event sequences the subscriber never received."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from perf.chaos.writer import Write
from persistence.models import Event, Task
from schema.core.ids import decode_id


@dataclass(frozen=True)
class Ledger:
    acknowledged: int
    persisted: int  # rows with the run's titles
    lost: int  # acknowledged, and no row with its title
    duplicated: int  # titles with more than one row
    unacknowledged_persisted: int  # given up or refused by the writer, yet written
    head: int  # the project's highest event sequence
    events_missed: int  # of 1..head, never received by the subscriber


_HEAD = select(func.coalesce(func.max(Event.__table__.c.sequence), 0))


async def _titles(conn: AsyncConnection, project_id: int, prefix: str) -> Counter[str]:
    tasks = Task.__table__
    rows = await conn.execute(
        select(tasks.c.title, func.count())
        .where(tasks.c.project_id == project_id, tasks.c.title.startswith(prefix, autoescape=True))
        .group_by(tasks.c.title)
    )
    return Counter({title: count for title, count in rows.all()})


async def _head(conn: AsyncConnection, project_id: int) -> int:
    return int((await conn.execute(_HEAD.where(Event.__table__.c.project_id == project_id))).scalar_one())


async def head(database_url: str, project_global_id: str) -> int:
    """The project's highest event sequence now: what a subscriber that is caught up has received."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await _head(conn, decode_id(project_global_id, "Project"))
    finally:
        await engine.dispose()


async def settle(
    database_url: str, project_global_id: str, prefix: str, writes: list[Write], received: list[int]
) -> Ledger:
    project_id = decode_id(project_global_id, "Project")
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            titles, highest = await _titles(conn, project_id, prefix), await _head(conn, project_id)
    finally:
        await engine.dispose()
    acknowledged = {w.title for w in writes if w.acknowledged_at is not None}
    return Ledger(
        acknowledged=len(acknowledged),
        persisted=sum(titles.values()),
        lost=len(acknowledged - titles.keys()),
        duplicated=sum(1 for count in titles.values() if count > 1),
        unacknowledged_persisted=len(titles.keys() - acknowledged),
        head=highest,
        events_missed=len(set(range(1, highest + 1)) - set(received)),
    )
