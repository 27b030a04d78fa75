"""Training materials published by registry operators, and who has reviewed them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

AUDIENCES = {
    "all": "All users",
    "administrators": "Organization administrators",
    "signers": "Authorized signers",
}
# The membership role an audience needs ("all" needs none).
AUDIENCE_ROLES = {"administrators": "admin", "signers": "signer"}


class TrainingResource(db.Model):
    """A link (https) or an uploaded PDF for one audience; withdrawn rather than deleted, so
    that what a user reviewed stays on record."""

    __tablename__ = "training_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    # The stored file's name under instance/uploads/training/ (random, never the uploaded name).
    file_name: Mapped[str | None] = mapped_column(String(64))
    original_filename: Mapped[str | None] = mapped_column(String(200))
    file_size: Mapped[int | None] = mapped_column()
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(16), default="all")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_file(self) -> bool:
        return self.file_name is not None


class TrainingReview(db.Model):
    """A user's statement that they reviewed one training resource."""

    __tablename__ = "training_review"
    __table_args__ = (UniqueConstraint("user_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("training_resource.id"), index=True)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
