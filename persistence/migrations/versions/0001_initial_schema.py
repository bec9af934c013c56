"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:45:11.583651
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.models.base import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        # Every table inherits the database default: full Unicode, case-insensitive comparison.
        op.execute("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    op.create_table(
        "organizations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "projects",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("task_counter", sa.Integer(), nullable=False),
        sa.Column("archived_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_projects_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("organization_id", "key", name=op.f("uq_projects_organization_id_key")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_projects_organization_id_name"), ["organization_id", "name"], unique=False
        )

    op.create_table(
        "users",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum("owner", "admin", "member", "guest", name="orgrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column("deactivated_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_users_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "labels",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_labels_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_labels_project_id_name")),
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "editor", "viewer", name="projectrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_members_project_id_projects")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_project_members_user_id_users")),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_members")),
    )
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "backlog",
                "todo",
                "in_progress",
                "in_review",
                "done",
                "canceled",
                name="taskstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("position", sa.Double(), nullable=False),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reporter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint("priority BETWEEN 0 AND 4", name=op.f("ck_tasks_priority_range")),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_tasks_assignee_id_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_tasks_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["tasks.id"], name=op.f("fk_tasks_parent_id_tasks")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_tasks_project_id_projects")),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name=op.f("fk_tasks_reporter_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("project_id", "number", name=op.f("uq_tasks_project_id_number")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_assignee_id_status"), ["assignee_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_organization_id_created_at"), ["organization_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_organization_id_due_date"), ["organization_id", "due_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_organization_id_number"), ["organization_id", "number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_organization_id_position"), ["organization_id", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_organization_id_priority"), ["organization_id", "priority"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_organization_id_updated_at"), ["organization_id", "updated_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tasks_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id_created_at"), ["project_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id_due_date"), ["project_id", "due_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id_position"), ["project_id", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id_priority"), ["project_id", "priority"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id_status_position"),
            ["project_id", "status", "position"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id_updated_at"), ["project_id", "updated_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tasks_reporter_id"), ["reporter_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uploader_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_attachments_task_id_tasks")),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name=op.f("fk_attachments_uploader_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attachments_task_id_created_at"), ["task_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attachments_uploader_id"), ["uploader_id"], unique=False)

    op.create_table(
        "comments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_comments_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_comments_task_id_created_at"), ["task_id", "created_at"], unique=False
        )

    op.create_table(
        "events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_events_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_events_project_id_projects")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_events_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_organization_id_id"), ["organization_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_events_project_id_sequence"), ["project_id", "sequence"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_events_published_at_id"), ["published_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_task_id_id"), ["task_id", "id"], unique=False)

    op.create_table(
        "task_labels",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("label_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], name=op.f("fk_task_labels_label_id_labels")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_task_labels_task_id_tasks")),
        sa.PrimaryKeyConstraint("task_id", "label_id", name=op.f("pk_task_labels")),
    )
    with op.batch_alter_table("task_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_labels_label_id"), ["label_id"], unique=False)

    _create_fulltext()


def downgrade() -> None:
    _drop_fulltext()
    with op.batch_alter_table("task_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_labels_label_id"))

    op.drop_table("task_labels")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_task_id_id"))
        batch_op.drop_index(batch_op.f("ix_events_published_at_id"))
        batch_op.drop_index(batch_op.f("ix_events_project_id_sequence"))
        batch_op.drop_index(batch_op.f("ix_events_organization_id_id"))

    op.drop_table("events")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_task_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_comments_author_id"))

    op.drop_table("comments")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_uploader_id"))
        batch_op.drop_index(batch_op.f("ix_attachments_task_id_created_at"))

    op.drop_table("attachments")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_project_id_updated_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_project_id_status_position"))
        batch_op.drop_index(batch_op.f("ix_tasks_project_id_priority"))
        batch_op.drop_index(batch_op.f("ix_tasks_project_id_position"))
        batch_op.drop_index(batch_op.f("ix_tasks_project_id_due_date"))
        batch_op.drop_index(batch_op.f("ix_tasks_project_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_parent_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_organization_id_updated_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_organization_id_priority"))
        batch_op.drop_index(batch_op.f("ix_tasks_organization_id_position"))
        batch_op.drop_index(batch_op.f("ix_tasks_organization_id_number"))
        batch_op.drop_index(batch_op.f("ix_tasks_organization_id_due_date"))
        batch_op.drop_index(batch_op.f("ix_tasks_organization_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_tasks_assignee_id_status"))

    op.drop_table("tasks")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_expires_at"))

    op.drop_table("sessions")
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_members_user_id"))

    op.drop_table("project_members")
    op.drop_table("labels")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_organization_id"))

    op.drop_table("users")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_organization_id_name"))

    op.drop_table("projects")
    op.drop_table("organizations")


_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE tasks_fts USING fts5(title, description, content='tasks', content_rowid='id')",
    "CREATE TRIGGER tasks_fts_ai AFTER INSERT ON tasks BEGIN "
    "INSERT INTO tasks_fts(rowid, title, description) VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER tasks_fts_ad AFTER DELETE ON tasks BEGIN "
    "INSERT INTO tasks_fts(tasks_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER tasks_fts_au AFTER UPDATE OF title, description ON tasks BEGIN "
    "INSERT INTO tasks_fts(tasks_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO tasks_fts(rowid, title, description) VALUES (new.id, new.title, new.description); END",
)


def _create_fulltext() -> None:
    """searchTasks: a FULLTEXT index on MariaDB, an FTS5 table kept by triggers on SQLite."""
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        op.create_index("ix_tasks_fulltext", "tasks", ["title", "description"], mysql_prefix="FULLTEXT")
    elif dialect == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)


def _drop_fulltext() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        op.drop_index("ix_tasks_fulltext", table_name="tasks")
    elif dialect == "sqlite":
        for trigger in ("tasks_fts_ai", "tasks_fts_ad", "tasks_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS tasks_fts")
