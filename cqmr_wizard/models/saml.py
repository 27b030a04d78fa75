"""SAML 2.0 sign-ins: assertion ids already used (shared by every worker), and responses
waiting for the browser's own session to come and claim them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class SamlAssertionSeen(db.Model):
    """An assertion that signed someone in: any second use of its id is a replay."""

    __tablename__ = "saml_assertion_seen"

    assertion_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    # Kept until the assertion could no longer be accepted anyway (then `flask purge` drops it).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SamlPendingResponse(db.Model):
    """A response the IdP posted (a cross-site POST carries no SameSite=Lax session cookie),
    held for the one redirect that brings the browser back with its session; used once."""

    __tablename__ = "saml_pending_response"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
