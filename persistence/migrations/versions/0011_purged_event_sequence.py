"""purged_event_sequence on projects (event sequences are never reused after a cleanup)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A server default fills the rows that exist: nothing was purged under the new rule yet.
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("purged_event_sequence", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("purged_event_sequence")
