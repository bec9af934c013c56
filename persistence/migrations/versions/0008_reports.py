"""reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.models.base import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("requested_by", _ID, nullable=False),
        sa.Column("kind", sa.Enum("status", name="reportkind", native_enum=False, length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued", "running", "succeeded", "failed", name="reportstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("storage_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_reports_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_reports_project_id_projects")),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_reports_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reports_project_id_created_at"), ["project_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reports_requested_by"), ["requested_by"], unique=False)


def downgrade() -> None:
    # The table's indexes go with it (MariaDB refuses to drop the one its foreign key needs first).
    op.drop_table("reports")
