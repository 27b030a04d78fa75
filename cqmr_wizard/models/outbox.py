"""The transactional outbox: every outgoing message is a row written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


class OutboxMessage(db.Model):
    """One message to deliver after commit; `kind` picks the handler, `payload` is its JSON."""

    __tablename__ = "outbox_message"
    # Deliverers ask "pending and due, oldest first"; operators list the failed ones.
    __table_args__ = (Index("ix_outbox_message_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # An optional idempotency key: enqueueing the same key twice is refused by the database.
    key: Mapped[str | None] = mapped_column(String(128), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    # A short description for operators (for mail: recipient and subject), never the content.
    summary: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A deliverer's lease: while claimed_until is in the future no other deliverer takes it.
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # The request that queued it (None from a command): its log line, this message's delivery
    # lines and its audit events share the id.
    request_id: Mapped[str | None] = mapped_column(String(128))
