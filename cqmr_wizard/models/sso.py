"""OneHealthPort (OpenID Connect) identities linked to accounts, and requests to join an
organization that is already registered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .organizations import Organization

JOIN_PENDING = "pending"
JOIN_APPROVED = "approved"
JOIN_DECLINED = "declined"


class OidcIdentity(db.Model):
    """An account's identity at one OpenID provider, known by (issuer, subject) and nothing else."""

    __tablename__ = "oidc_identity"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        # One identity per provider per account, so "which OneHealthPort user is this" has one answer.
        UniqueConstraint("user_id", "issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    # As the provider last described the person; shown to them, never used to match accounts.
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    ohp_org_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<OidcIdentity {self.id}>"


class JoinRequest(db.Model):
    """A person asking to join an organization already registered under their OneHealthPort org."""

    __tablename__ = "join_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    ohp_org_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=JOIN_PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[str | None] = mapped_column(String(16))  # given on approval

    user = relationship("User", foreign_keys=[user_id])
    organization: Mapped[Organization] = relationship()
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def pending(self) -> bool:
        return self.status == JOIN_PENDING
