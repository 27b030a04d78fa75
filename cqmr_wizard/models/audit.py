"""The append-only audit log, chained with a keyed HMAC, and the record of its verifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One security- or contract-relevant event; `hash` is the HMAC that chains it to the previous
    row, under the AUDIT_HMAC_KEYS key whose id is `key_id`."""

    __tablename__ = "audit_event"
    # The operator console asks "latest event per organization" and filters by date.
    __table_args__ = (
        Index("ix_audit_event_organization_occurred", "organization_id", "occurred_at"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(16))


class AuditVerification(db.Model):
    """One run of the chain check: how far it got, and whether the chain held up to there.

    A run continues from the last good run's row (`from_id`, exclusive) unless it is `full`."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    full: Mapped[bool] = mapped_column(default=False, index=True)
    from_id: Mapped[int] = mapped_column(default=0)
    last_id: Mapped[int] = mapped_column(default=0)  # the last row found good
    last_hash: Mapped[str | None] = mapped_column(String(64))
    checked: Mapped[int] = mapped_column(default=0)
    ok: Mapped[bool] = mapped_column()
    broken_id: Mapped[int | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
