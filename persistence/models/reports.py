from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import ReportKind, ReportStatus
from persistence.models.base import Base, Id, UtcDateTime, utcnow


def _enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Report(Base):
    """A project report someone asked for; a job (jobs/reports.py) builds its files.

    ``storage_key`` names the files under TASKQL_REPORT_ROOT (``<key>.csv`` and ``<key>.html``); it is
    set when the job succeeds, so a report without one has nothing to download. ``error`` is a short
    message for the requester, never a traceback (that stays in RQ's failed registry and the log).
    """

    __tablename__ = "reports"
    __table_args__ = (Index(None, "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[ReportKind] = mapped_column(_enum(ReportKind))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.QUEUED)
    # Attempts the job started (the first run and its retries).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    storage_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
