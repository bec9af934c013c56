from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import PushPlatform
from persistence.models.base import Base, Id, UtcDateTime, utcnow


class PushDevice(Base):
    """A device a user receives push notifications on, by the token its platform gave it.

    A token belongs to one device, hence to one user at a time: registering a token someone else
    holds moves the row to the caller (a phone that changed hands). A token the gateway answers 410
    for is deleted by the push job (jobs/push.py).
    """

    __tablename__ = "push_devices"
    # The push job reads a recipient's devices.
    __table_args__ = (Index(None, "user_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    token: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[PushPlatform] = mapped_column(
        Enum(PushPlatform, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Refreshed by every registration of the token: a device that stopped registering is stale.
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
