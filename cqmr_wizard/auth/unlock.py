"""Lifting a sign-in lock: its owner is mailed a link, so a lock never outlasts their will."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import external_url
from ..models import EmailToken, User
from ..models.base import utcnow
from . import throttle, tokens

log = logging.getLogger(__name__)

# The owner is reminded of the link at most this often when they try their right password.
REMINDER_INTERVAL = timedelta(minutes=15)


def reminder_due(user: User) -> bool:
    """True when no unlock link was mailed to the user in the last REMINDER_INTERVAL."""
    latest = db.session.scalar(
        select(EmailToken.created_at)
        .where(EmailToken.user_id == user.id, EmailToken.purpose == tokens.UNLOCK_SIGN_IN)
        .order_by(EmailToken.created_at.desc())
        .limit(1)
    )
    return latest is None or latest < utcnow() - REMINDER_INTERVAL


def send_link(user: User) -> None:
    """Mail the owner of a locked account a link that lifts the lock, and commit both."""
    tokens.mail_link(
        user,
        tokens.UNLOCK_SIGN_IN,
        current_app.config["EMAIL_TOKEN_TTL"],
        "auth.unlock_account",
        "Sign-in to your CQMR onboarding account is paused",
        "unlock_account",
        until=user.sign_in_locked_until,
        reset=external_url("auth.forgot_password"),
    )
    db.session.commit()


def lift(token: str) -> User:
    """Use an unlock link: the account and every source may sign in again at once."""
    row = tokens.consume_token(token, tokens.UNLOCK_SIGN_IN)
    user = db.session.get(User, row.user_id)
    user.sign_in_locked_until = None
    user.failed_sign_in_count = 0
    throttle.clear(user.email, everywhere=True)
    audit.record(AuditEventType.AUTH_SIGN_IN_UNLOCKED, actor_id=user.id, subject_user_id=user.id)
    db.session.commit()
    return user
