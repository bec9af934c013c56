from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.enums import OrgRole
from persistence.models.base import Base, Id, UtcDateTime, utcnow


class Invitation(Base):
    """An invitation to join an organization with a role; accepting it once creates the user. Its
    token is emailed to the invitee and shown once to the inviter."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[OrgRole] = mapped_column(
        Enum(OrgRole, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    # sha256 of the token, which is handed out once and never stored: a leaked table admits nobody.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Random, per invitation: the token is HMAC(the server's secret, nonce) (jobs/invitations.py), so
    # the invitation email's job derives it again. NULL for invitations made before the email existed.
    nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set by the one acceptance that counts; a used invitation admits nobody else.
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
