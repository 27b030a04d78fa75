"""What the registry operators' tools keep: the ledger of reminders sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class ReminderLog(db.Model):
    """One reminder mailed; the unique (recipient, kind, period) makes sending idempotent."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("recipient", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    # The number of whole REMINDER_INTERVALs since the Unix epoch when it was sent.
    period: Mapped[int] = mapped_column()
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    @classmethod
    def claim(
        cls, recipient: str, kind: str, organization_id: int | None, now: datetime, period: int
    ) -> bool:
        """Write this reminder's row in a savepoint of the caller's transaction; False when the
        same (recipient, kind, period) was claimed before, by this run or another."""
        try:
            with db.session.begin_nested():
                db.session.add(
                    cls(
                        recipient=recipient.lower(),
                        kind=kind,
                        period=period,
                        organization_id=organization_id,
                        sent_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True
