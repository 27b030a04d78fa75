"""Throttling state every worker shares: per-source request counters (Flask-Limiter's store
when Redis is not configured) and per account-and-source sign-in delays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class RateLimitCounter(db.Model):
    """One Flask-Limiter fixed-window counter: hits under `key` until `expires_at`."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SignInThrottle(db.Model):
    """Consecutive failed sign-ins for one email address (its SHA-256) from one source address;
    each failure past the free ones doubles the wait before the next attempt from there."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("email_digest", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
