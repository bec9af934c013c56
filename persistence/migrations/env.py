"""Alembic environment: uses a connection handed over by ``persistence.migrate`` or the settings' URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from persistence.db import create_engine
from persistence.models import Base
from persistence.settings import get_settings

target_metadata = Base.metadata


# Full-text structures are dialect-specific and made by hand in the migrations; autogenerate skips them.
_HAND_MADE = {"ix_tasks_fulltext", "tasks_fts"}


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name or "").startswith(tuple(_HAND_MADE))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    engine = create_engine(get_settings(), null_pool=True)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_with_own_engine())
