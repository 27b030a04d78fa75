"""Where each member stands in the CQMR: what the wizard wants there, and what it last achieved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

PENDING = "pending"
PROVISIONED = "provisioned"
FAILED = "failed"


class ProvisioningState(db.Model):
    """One person's provisioning into the CQMR (SCIM 2.0); written in the same transaction as
    the change that moved their readiness, and by the delivery of the SCIM calls."""

    __tablename__ = "provisioning_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    desired_active: Mapped[bool] = mapped_column(default=False)
    # The OneHealthPort subject the CQMR knows them by (kept to deactivate after an unlink).
    user_name: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the SCIM User the wizard wants; a change of it is what sends the SCIM calls.
    desired_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    cqmr_id: Mapped[str | None] = mapped_column(String(255))  # the SCIM id of the User
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<ProvisioningState {self.user_id} {self.state}>"
