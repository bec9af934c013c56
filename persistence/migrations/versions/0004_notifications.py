"""notifications

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:18:00.711532
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.models.base import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("assigned", "mentioned", name="notificationkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("comment_id", _ID, nullable=True),
        sa.Column("actor_id", _ID, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_notifications_event_id_events")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_id", "user_id", name=op.f("uq_notifications_event_id_user_id")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id_id"), ["user_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notifications_user_id_read_at_id"), ["user_id", "read_at", "id"], unique=False
        )


def downgrade() -> None:
    # The table's indexes go with it (MariaDB refuses to drop the one its foreign key needs first).
    op.drop_table("notifications")
