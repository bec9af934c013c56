from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import TaskStatus
from persistence.models.base import Base, Id, UtcDateTime, utcnow


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint("priority BETWEEN 0 AND 4", name="priority_range"),
        # One index per order, first for the organization-wide list, then within a project.
        Index(None, "organization_id", "created_at"),
        Index(None, "organization_id", "updated_at"),
        Index(None, "organization_id", "due_date"),
        Index(None, "organization_id", "priority"),
        Index(None, "organization_id", "number"),
        Index(None, "organization_id", "position"),
        Index(None, "project_id", "created_at"),
        Index(None, "project_id", "updated_at"),
        Index(None, "project_id", "due_date"),
        Index(None, "project_id", "priority"),
        Index(None, "project_id", "position"),
        Index(None, "project_id", "status", "position"),
        Index(None, "assignee_id", "status"),
        Index(None, "reporter_id"),
        Index(None, "parent_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # Denormalised from the project so that every list is scoped to a tenant through an index.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    position: Mapped[float] = mapped_column(Double, default=0.0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
