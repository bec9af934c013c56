"""Applies Alembic migrations on the application's own engine (server start, tests, tools)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def _config(connection: Connection | None = None) -> Config:
    config = Config(str(_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    def _upgrade(connection: Connection) -> None:
        command.upgrade(_config(connection), "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database stands at the newest revision (readiness checks use it)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_current) == head
