"""Reads take autocommit connections from their own pool: no ROLLBACK round trip when a read's
connection goes back, and a read still sees what was committed a moment before on a reused
connection."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiomysql import Connection as DriverConnection  # type: ignore[import-untyped]
from sqlalchemy import insert, select, update

from persistence.models import Organization
from resolvers.context import Services


async def test_reads_send_no_rollback(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    rollbacks: list[object] = []
    original = DriverConnection.rollback

    async def counted(self: DriverConnection) -> Any:
        rollbacks.append(self)
        return await original(self)

    monkeypatch.setattr(DriverConnection, "rollback", counted)
    # When five reads run one after another (each takes a pooled connection and gives it back)
    for _ in range(5):
        async with services.db.read() as conn:
            assert (await conn.execute(select(1))).scalar_one() == 1
    # Then none of them ended a transaction: there was none
    assert rollbacks == []
    # While a unit of work that fails still rolls back
    with pytest.raises(RuntimeError, match="undo"):
        await _failed_unit_of_work(services)
    assert rollbacks


async def _failed_unit_of_work(services: Services) -> None:
    async with services.db.unit_of_work() as conn:
        await conn.execute(select(1))
        raise RuntimeError("undo")


async def test_a_read_sees_the_last_commit_on_a_reused_connection(services: Services) -> None:
    slug = f"read-{uuid.uuid4().hex[:12]}"
    async with services.db.unit_of_work() as conn:
        await conn.execute(insert(Organization).values(slug=slug, name="before"))
    names = select(Organization.name).where(Organization.slug == slug)
    for name in ("first", "second", "third"):
        async with services.db.read() as conn:
            seen_before = (await conn.execute(names)).scalar_one()
        async with services.db.unit_of_work() as conn:
            await conn.execute(update(Organization).where(Organization.slug == slug).values(name=name))
        # The pool hands the last returned connection out first: the read gets the one it had.
        async with services.db.read() as conn:
            assert (await conn.execute(names)).scalar_one() == name != seen_before
