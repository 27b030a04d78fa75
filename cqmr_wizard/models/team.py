"""Invitations to join an organization, and the ledger that rate-limits sending them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .organizations import Organization

PENDING = "pending"
ACCEPTED = "accepted"
REVOKED = "revoked"
EXPIRED = "expired"


class Invitation(db.Model):
    """An invitation for one email address to join one organization with some roles.

    Only the SHA-256 of the link's token is stored; resending replaces it, so the old link dies.
    `flask purge` erases it (NULL) once the invitation expired, was accepted or was revoked.
    """

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # Role keys separated by single spaces, e.g. "admin signer" (the keys are fixed words).
    role_keys: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    send_count: Mapped[int] = mapped_column(default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    organization: Mapped[Organization] = relationship()

    @property
    def roles(self) -> list[str]:
        return self.role_keys.split()

    def status(self, now: datetime | None = None) -> str:
        """One of pending, accepted, revoked or expired."""
        if self.accepted_at is not None:
            return ACCEPTED
        if self.revoked_at is not None:
            return REVOKED
        if self.expires_at <= (now or utcnow()):
            return EXPIRED
        return PENDING

    def __repr__(self) -> str:
        return f"<Invitation {self.id}>"


class InvitationSend(db.Model):
    """One invitation email sent; counted per organization for the rate limit, in the database
    so that every worker sees the same count."""

    __tablename__ = "invitation_send"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
