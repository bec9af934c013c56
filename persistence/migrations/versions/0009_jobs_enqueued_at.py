"""jobs_enqueued_at on notifications and webhook deliveries (the relay's sweep for unenqueued jobs)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.models.base import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("notifications", "webhook_deliveries")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("jobs_enqueued_at", UtcDateTime(), nullable=True))
            batch.create_index(f"ix_{table}_jobs_enqueued_at_id", ["jobs_enqueued_at", "id"])
        # What exists was handed over before this column: the sweep must not send it again.
        op.execute(sa.text(f"UPDATE {table} SET jobs_enqueued_at = created_at"))  # noqa: S608 - fixed names


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_jobs_enqueued_at_id")
            batch.drop_column("jobs_enqueued_at")
