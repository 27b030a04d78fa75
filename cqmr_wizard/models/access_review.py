"""Yearly access reviews: an organization's administrator confirms who still needs CQMR access.
Each completed review is kept for good (who, when, what changed), for an auditor."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow


class AccessReview(db.Model):
    """One completed access review of one organization; `changes` is JSON: the members kept,
    those whose roles changed (from → to) and those removed, each by user id, name and email."""

    __tablename__ = "access_review"
    __table_args__ = (Index("ix_access_review_organization_completed", "organization_id", "completed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changes: Mapped[str] = mapped_column(Text, default="{}")

    reviewer: Mapped[User] = relationship()

    @property
    def changed(self) -> dict[str, list[dict]]:
        """The stored changes: "kept", "roles_changed" and "removed" lists."""
        return json.loads(self.changes)
