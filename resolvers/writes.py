"""The write path every mutation shares: one unit of work with its event rows, retried when MariaDB
resolves a race by aborting it, and guarded against a second execution by the idempotency key."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.models.base import utcnow
from persistence.queries import events as event_queries
from persistence.queries.events import NewEvent
from persistence.queries.rows import AnyRow
from resolvers.cache_invalidation import invalidate_written
from resolvers.context import Idempotency, RequestContext
from resolvers.errors import BadUserInput
from resolvers.principal import Principal

log = logging.getLogger("taskql.writes")


class Answer(Protocol):
    """What a write answers with; a refused one reports expected failures."""

    @property
    def refused(self) -> bool: ...


R = TypeVar("R", bound=Answer)
W = TypeVar("W", bound="_Recording")
MAX_ATTEMPTS = 8
# MariaDB's answers to two writers racing: a deadlock victim, a lock wait given up.
_RETRYABLE_ERRNOS = {1213, 1205}
# Unique indexes a concurrent writer can hit first; the retry reads the new highest value.
_RACED_INDEXES = (
    "ix_events_project_id_sequence",
    "uq_tasks_project_id_number",
    "events.project_id, events.sequence",
    "tasks.project_id, tasks.number",
)
_IDEMPOTENCY_INDEX = ("ix_events_idempotency_key", "events.idempotency_key")


class AlreadyApplied(Exception):
    """The key's first execution committed (its event row is here); this one must not write."""

    def __init__(self, event: AnyRow) -> None:
        super().__init__("already applied")
        self.event = event


@dataclass
class Write:
    conn: AsyncConnection
    principal: Principal
    now: datetime
    idempotency: Idempotency | None
    event_ids: list[int] = field(default_factory=list)
    # (organization id, event type) of each event recorded: what the caches must forget after the commit.
    events: list[tuple[int, str]] = field(default_factory=list)

    def _event(
        self, type_: str, project_id: int | None, task_id: int | None, payload: dict[str, Any]
    ) -> NewEvent:
        """The first event of a write carries the idempotency key (and the request's hash)."""
        key = None
        if self.idempotency is not None and not self.event_ids:
            key = self.idempotency.key
            payload = {**payload, "request": self.idempotency.request_hash}
        return NewEvent(
            organization_id=self.principal.organization_id,
            project_id=project_id,
            task_id=task_id,
            actor_id=self.principal.user_id,
            type=type_,
            payload=payload,
            idempotency_key=key,
        )

    async def record(self, type_: str, *, project_id: int | None, payload: dict[str, Any]) -> int:
        """Appends an event (activity and outbox in one row) about a project or the organization."""
        event_id, _ = await event_queries.insert_event(
            self.conn, self._event(type_, project_id, None, payload), self.now
        )
        self.event_ids.append(event_id)
        self.events.append((self.principal.organization_id, type_))
        return event_id

    async def record_task(self, type_: str, task_id: int, payload: dict[str, Any]) -> int:
        """Appends an event about a task; its project is read from the task in the same statement."""
        event = self._event(type_, None, task_id, payload)
        event_id, _ = await event_queries.insert_task_event(self.conn, event, self.now)
        self.event_ids.append(event_id)
        self.events.append((self.principal.organization_id, type_))
        return event_id


@dataclass
class PublicWrite:
    """A write nobody is signed in for (sign-up, accepting an invitation). With no principal, its
    events name the organization and actor the write itself made; no Idempotency-Key applies (the
    edge takes one only from an authenticated principal)."""

    conn: AsyncConnection
    now: datetime
    event_ids: list[int] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)

    async def record(
        self, type_: str, *, organization_id: int, actor_id: int, payload: dict[str, Any]
    ) -> int:
        """Appends an organization-level event (no project, so no sequence)."""
        event = NewEvent(organization_id, None, None, actor_id, type_, payload)
        event_id, _ = await event_queries.insert_event(self.conn, event, self.now)
        self.event_ids.append(event_id)
        self.events.append((organization_id, type_))
        return event_id


class _Recording(Protocol):
    event_ids: list[int]
    events: list[tuple[int, str]]


def _mentions(error: DBAPIError, names: tuple[str, ...]) -> bool:
    text = str(error.orig)
    return any(name in text for name in names)


def _errno(error: DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


async def run_write(
    ctx: RequestContext, body: Callable[[Write], Awaitable[R]], *, on_replay: Callable[[AnyRow], R]
) -> R:
    """Runs ``body`` in one transaction and hands its events to the relay after the commit.

    ``body`` must derive everything from what it reads, so running it again after an aborted
    attempt is safe. When the idempotency key was used before, nothing is written and
    ``on_replay`` builds the result from the first execution's event.
    """
    principal = ctx.require_principal()
    idempotency = ctx.idempotency

    def begin(conn: AsyncConnection, now: datetime) -> Write:
        return Write(conn, principal, now, idempotency)

    return await _run(ctx, begin, body, idempotency, on_replay)


async def run_public_write(ctx: RequestContext, body: Callable[[PublicWrite], Awaitable[R]]) -> R:
    """The same unit of work and retries for a write without a principal (see PublicWrite)."""

    def no_replay(event: AnyRow) -> R:
        raise AssertionError("a write without an Idempotency-Key has nothing to replay")

    return await _run(ctx, PublicWrite, body, None, no_replay)


async def _run(
    ctx: RequestContext,
    begin: Callable[[AsyncConnection, datetime], W],
    body: Callable[[W], Awaitable[R]],
    idempotency: Idempotency | None,
    on_replay: Callable[[AnyRow], R],
) -> R:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with ctx.db.unit_of_work() as conn:
                write = begin(conn, utcnow())
                result = await body(write)
                if idempotency is not None and result.refused and not write.event_ids:
                    await _refuse_if_applied(conn, idempotency)
        except AlreadyApplied as applied:
            return on_replay(_same_request(applied.event, idempotency))
        except IntegrityError as error:
            if idempotency is not None and _mentions(error, _IDEMPOTENCY_INDEX):
                return on_replay(await _first_execution(ctx, idempotency))
            if attempt < MAX_ATTEMPTS and _mentions(error, _RACED_INDEXES):
                await _back_off(attempt)
                continue
            raise
        except DBAPIError as error:
            if attempt < MAX_ATTEMPTS and _errno(error) in _RETRYABLE_ERRNOS:
                log.info("write raced another one; attempt %d", attempt)
                await _back_off(attempt)
                continue
            raise
        await invalidate_written(ctx.services.cache, write.events)
        if ctx.services.written_marks is not None and ctx.principal is not None:
            await ctx.services.written_marks.wrote(ctx.principal.budget_key)
        ctx.services.relay.notify(write.event_ids)
        return result
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _refuse_if_applied(conn: AsyncConnection, idempotency: Idempotency) -> None:
    """A keyed write was refused. If the key's first
    execution committed, the refusal is only what that execution left behind (the task already
    deleted, its version moved on, the name taken): the client gets the first answer instead.
    Read only on this path, so a write that goes through costs nothing more."""
    event = await event_queries.event_by_idempotency_key(conn, idempotency.key)
    if event is not None:
        raise AlreadyApplied(event)


async def _back_off(attempt: int) -> None:
    # Jittered, so writers that collided do not collide again in step.
    await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not a secret


async def _first_execution(ctx: RequestContext, idempotency: Idempotency) -> AnyRow:
    async with ctx.db.read() as conn:
        event = await event_queries.event_by_idempotency_key(conn, idempotency.key)
    if event is None:
        raise AssertionError("the idempotency key's event vanished")
    return _same_request(event, idempotency)


def _same_request(event: AnyRow, idempotency: Idempotency | None) -> AnyRow:
    if idempotency is None or event.payload.get("request") != idempotency.request_hash:
        raise BadUserInput("this Idempotency-Key was used with another request", argument="Idempotency-Key")
    return event
