"""Single-use, expiring email link tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..extensions import db
from ..mail import external_url, send_mail
from ..models import EmailToken, User
from ..models.base import utcnow

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 (a token purpose, not a secret)
UNLOCK_SIGN_IN = "unlock_sign_in"


def mail_link(
    user: User, purpose: str, ttl: timedelta, endpoint: str, subject: str, template: str, **context: object
) -> None:
    """Mail `user` a link to `endpoint` carrying a fresh token for `purpose` (the caller commits)."""
    token = issue_token(user, purpose, ttl)
    send_mail(user.email, subject, template, user=user, link=external_url(endpoint, token=token), **context)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, purpose: str, ttl: timedelta) -> str:
    """Create a token for `user`; return the secret part that goes into the link."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        EmailToken(user_id=user.id, purpose=purpose, token_hash=_digest(token), expires_at=utcnow() + ttl)
    )
    return token


class TokenError(Exception):
    """The link is unknown, expired or already used; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def peek_token(token: str, purpose: str) -> EmailToken:
    """Return the live token row without using it, or raise TokenError."""
    if not token or len(token) > 100:
        raise TokenError("unknown")
    row = db.session.scalar(
        select(EmailToken).where(EmailToken.token_hash == _digest(token), EmailToken.purpose == purpose)
    )
    if row is None:
        raise TokenError("unknown")
    if row.used_at is not None:
        raise TokenError("used")
    if row.expires_at <= utcnow():
        raise TokenError("expired")
    return row


def consume_token(token: str, purpose: str) -> EmailToken:
    """Mark the token used, atomically, so that two requests cannot both use it."""
    row = peek_token(token, purpose)
    result = db.session.execute(
        update(EmailToken)
        .where(EmailToken.id == row.id, EmailToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise TokenError("used")
    return row


def revoke_tokens(user_id: int, purpose: str) -> None:
    """Mark every unused token of this purpose used (after a reset, older links must die)."""
    db.session.execute(
        update(EmailToken)
        .where(EmailToken.user_id == user_id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
