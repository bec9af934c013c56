"""The statements that make webhook deliveries (which endpoint gets which event is
resolvers/webhook_rules.py's to say): the organizations' live endpoints, the insert and its read back.

They run in the relay's unit of work, the one that marks the events published: the insert skips a row
whose (endpoint, event) is there already, so deriving the same events again inserts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from persistence.models import WebhookDelivery, WebhookEndpoint
from persistence.queries.rows import AnyRow

# What the relay hands the delivery jobs of a new delivery.
DERIVED_DELIVERY_FIELDS = ("id", "endpoint_id", "event_id")

_endpoints = WebhookEndpoint.__table__
_deliveries = WebhookDelivery.__table__


async def active_endpoints(conn: AsyncConnection, organization_ids: Iterable[int]) -> Sequence[AnyRow]:
    """The organizations' active, live endpoints: rows of ``id``, ``organization_id`` and
    ``event_types``."""
    statement = select(_endpoints.c.id, _endpoints.c.organization_id, _endpoints.c.event_types).where(
        _endpoints.c.organization_id.in_(sorted(set(organization_ids))),
        _endpoints.c.active.is_(True),
        _endpoints.c.deleted_at.is_(None),
    )
    return (await conn.execute(statement)).all()


async def insert_deliveries(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> Sequence[AnyRow]:
    """Inserts the deliveries whose (endpoint, event) is not there yet and returns every delivery of
    those pairs (``DERIVED_DELIVERY_FIELDS``), in id order."""
    await conn.execute(_insert_once(conn.dialect.name), values)
    # By the unique (endpoint, event) key.
    pairs = sorted((v["endpoint_id"], v["event_id"]) for v in values)
    read_back = select(*[_deliveries.c[name] for name in DERIVED_DELIVERY_FIELDS]).where(
        tuple_(_deliveries.c.endpoint_id, _deliveries.c.event_id).in_(pairs)
    )
    return sorted((await conn.execute(read_back)).all(), key=lambda row: int(row.id))


def _insert_once(dialect: str) -> Insert:
    """Skips a row whose (endpoint, event) is there already, and only that (unlike INSERT IGNORE)."""
    if dialect == "sqlite":
        return sqlite_insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
    statement = mysql_insert(WebhookDelivery)
    return statement.on_duplicate_key_update(event_id=statement.inserted.event_id)
