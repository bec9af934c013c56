"""The statement that makes webhook deliveries (which endpoint gets which event is
resolvers/webhook_rules.py's to say; the organizations' live endpoints come with the batch's one read,
persistence/batch_reads.py).

It runs in the relay's unit of work, the one that marks the events published: the insert leaves a row
whose (endpoint, event) is there already as it is, so deriving the same events again inserts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from persistence.models import WebhookDelivery
from persistence.queries.rows import AnyRow

# What the relay hands the delivery jobs of a new delivery.
DERIVED_DELIVERY_FIELDS = ("id", "endpoint_id", "event_id")

_deliveries = WebhookDelivery.__table__


async def insert_deliveries(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> list[AnyRow]:
    """Inserts the deliveries whose (endpoint, event) is not there yet, in one multi-row INSERT per
    1,000 rows (SQLAlchemy's "insertmanyvalues" pages), and returns the delivery of every (endpoint,
    event) of ``values`` (``DERIVED_DELIVERY_FIELDS``), new or not, in id order."""
    dialect = "sqlite" if conn.dialect.name == "sqlite" else "mysql"
    rows = (await conn.execute(_INSERT_ONCE[dialect], values)).all()
    return sorted(rows, key=lambda row: int(row.id))


def _insert_once(dialect: str) -> Insert:
    """Leaves a row whose (endpoint, event) is there already as it was, and only that (unlike INSERT
    IGNORE); the update that changes nothing makes RETURNING give that row too (see
    persistence/queries/notification_writes.py)."""
    returned = [_deliveries.c[name] for name in DERIVED_DELIVERY_FIELDS]
    if dialect == "sqlite":
        lite = sqlite_insert(WebhookDelivery)
        return lite.on_conflict_do_update(
            index_elements=["endpoint_id", "event_id"], set_={"event_id": lite.excluded.event_id}
        ).returning(*returned)
    statement = mysql_insert(WebhookDelivery)
    return statement.on_duplicate_key_update(event_id=statement.inserted.event_id).returning(*returned)


_INSERT_ONCE = {dialect: _insert_once(dialect) for dialect in ("mysql", "sqlite")}
