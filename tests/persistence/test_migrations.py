"""The models and the migrations agree, on both dialects the project runs on (``alembic check``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from persistence.migrate import check_models, upgrade_to_head


async def test_the_migrated_mariadb_matches_the_models(database: str) -> None:
    engine = create_async_engine(database)
    try:
        await check_models(engine)  # raises on any difference
    finally:
        await engine.dispose()


async def test_the_migrated_sqlite_matches_the_models(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'check.db'}")
    try:
        await upgrade_to_head(engine)
        await check_models(engine)
    finally:
        await engine.dispose()
