from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from persistence.models import Event, Task
from persistence.queries.pagination import SortKey, fetch_partitioned_pages
from persistence.queries.rows import AnyRow
from persistence.queries.scope import Scope, visible_project
from persistence.values import Page, PageRequest

# Aliases built once: aliased() copies every column of its table, about 1 ms per call.
_previous_event = aliased(Event, name="previous")


EVENT_FIELDS = ("id", "task_id", "project_id", "actor_id", "type", "sequence", "payload", "created_at")


async def activity_by_task_ids(
    conn: AsyncConnection, scope: Scope, task_ids: Sequence[int], page: PageRequest, *, with_total: bool
) -> dict[int, tuple[Page[AnyRow], int | None]]:
    """Each task's activity (the events table read as a log), newest first."""
    events, tasks = Event.__table__, Task.__table__
    statement = (
        select(*[events.c[name] for name in EVENT_FIELDS])
        .select_from(events.join(tasks, tasks.c.id == events.c.task_id))
        .where(
            events.c.organization_id == scope.organization_id,
            tasks.c.organization_id == scope.organization_id,
            visible_project(scope, tasks.c.project_id),
        )
    )
    key = SortKey(events.c.id, events.c.id, descending=True)
    return await fetch_partitioned_pages(
        conn, statement, events.c.task_id, task_ids, key, page, with_total=with_total
    )


@dataclass(frozen=True)
class NewEvent:
    organization_id: int
    project_id: int | None
    task_id: int | None
    actor_id: int | None
    type: str
    payload: dict[str, Any]
    # "<principal>:<sha256 of the client's key>" for the mutation's main event, else None.
    idempotency_key: str | None = None


def _next_sequence(project_id: ColumnElement[Any]) -> ColumnElement[Any]:
    highest = select(func.coalesce(func.max(_previous_event.sequence), 0) + 1).where(
        _previous_event.project_id == project_id
    )
    return highest.scalar_subquery()


def _values(event: NewEvent, now: datetime) -> dict[str, Any]:
    return {
        "task_id": event.task_id,
        "actor_id": event.actor_id,
        "type": event.type,
        "payload": event.payload,
        "created_at": now,
        "idempotency_key": event.idempotency_key,
    }


async def insert_event(conn: AsyncConnection, event: NewEvent, now: datetime) -> tuple[int, int | None]:
    """Appends one event and returns its id and per-project sequence.

    The sequence is the project's highest plus one, read in the same statement; the unique index
    (project_id, sequence) turns a concurrent twin into an error the unit of work retries, so the
    sequence never has a gap or a duplicate. (INSERT ... VALUES, not INSERT ... SELECT: MariaDB
    holds a table-wide AUTO-INC lock through an INSERT ... SELECT, and concurrent writers deadlock.)
    """
    values = _values(event, now)
    values["organization_id"] = event.organization_id
    values["project_id"] = event.project_id
    if event.project_id is not None:
        values["sequence"] = _next_sequence(literal(event.project_id, Integer()))
    return await _insert(conn, values)


async def insert_task_event(conn: AsyncConnection, event: NewEvent, now: datetime) -> tuple[int, int | None]:
    """The same for an event about ``event.task_id``: its project comes from the task's row in the same
    statement (a writer that only updated the task need not read it first)."""
    tasks = Task.__table__
    project = select(tasks.c.project_id).where(tasks.c.id == event.task_id).scalar_subquery()
    values = _values(event, now)
    values["organization_id"] = (
        select(tasks.c.organization_id).where(tasks.c.id == event.task_id).scalar_subquery()
    )
    values["project_id"] = project
    values["sequence"] = _next_sequence(project)
    return await _insert(conn, values)


async def _insert(conn: AsyncConnection, values: dict[str, Any]) -> tuple[int, int | None]:
    events = Event.__table__
    statement = insert(Event).values(**values).returning(events.c.id, events.c.sequence)
    inserted = (await conn.execute(statement)).one()
    return int(inserted.id), inserted.sequence


async def event_by_idempotency_key(conn: AsyncConnection, key: str) -> AnyRow | None:
    events = Event.__table__
    statement = select(*[events.c[name] for name in EVENT_FIELDS], events.c.organization_id).where(
        events.c.idempotency_key == key
    )
    row: AnyRow | None = (await conn.execute(statement)).first()
    return row
