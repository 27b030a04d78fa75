"""Two-step verification: TOTP credentials, passkeys, recovery codes and per-user attempt state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

PENDING = "pending"
ACTIVE = "active"


class TotpCredential(db.Model):
    """An authenticator app's shared secret, encrypted; pending until a code confirms it."""

    __tablename__ = "totp_credential"
    # At most one pending and one active credential per user.
    __table_args__ = (UniqueConstraint("user_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last time step accepted with this secret; a step is never accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(db.Model):
    """One single-use recovery code; only its keyed HMAC-SHA-256 is stored (`code_digest`).
    Codes issued before that carry an argon2 `code_hash` instead, until they are replaced."""

    __tablename__ = "recovery_code"
    __table_args__ = (
        UniqueConstraint("user_id", "position"),
        Index("ix_recovery_code_user_id_code_digest", "user_id", "code_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    position: Mapped[int] = mapped_column()
    code_hash: Mapped[str | None] = mapped_column(String(200))
    code_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MfaState(db.Model):
    """Per-user second-factor state every worker shares: attempt throttle and lock-out."""

    __tablename__ = "mfa_state"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recovery_codes_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebAuthnCredential(db.Model):
    """A passkey or security key (WebAuthn): its public key and signature counter, named by
    its holder. A person may hold several, beside an authenticator app."""

    __tablename__ = "webauthn_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The authenticator's credential id, base64url without padding; unique across everyone.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 of the last challenge an assertion answered: two requests racing with one
    # assertion are told apart by a conditional UPDATE, as TOTP time steps are.
    last_challenge: Mapped[str | None] = mapped_column(String(64))
