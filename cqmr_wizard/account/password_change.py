"""A signed-in user changes their password: the current one and a fresh code first."""

from __future__ import annotations

import logging

from flask import current_app, session

from .. import audit
from ..audit.events import AuditEventType
from ..auth import tokens
from ..auth.passwords import hash_password, password_problem, verify_password
from ..auth.services import AccountError
from ..extensions import db
from ..mail import send_mail
from ..mfa.services import check_code
from ..models import User

log = logging.getLogger(__name__)


def change_password(user: User, current: str, new: str, code: str) -> None:
    """A signed-in user's new password, given the current one and a fresh code: every other
    session ends and the owner is mailed a notice."""
    if not verify_password(user.password_hash, current):
        audit.record(
            AuditEventType.AUTH_PASSWORD_CHANGE_FAILED,
            actor_id=user.id,
            subject_user_id=user.id,
            details={"reason": "password"},
        )
        db.session.commit()
        raise AccountError("Your current password is not right", "current_password")
    problem = password_problem(new, [user.full_name, user.email, *user.email.split("@")])
    if problem:
        raise AccountError(problem, "new_password")
    check_code(user, code, "change_password")  # its MfaError is the view's refusal too
    user.password_hash = hash_password(new)
    tokens.revoke_tokens(user.id, tokens.RESET_PASSWORD)
    audit.record(AuditEventType.ACCOUNT_PASSWORD_CHANGED, actor_id=user.id, subject_user_id=user.id)
    send_mail(user.email, "Your CQMR onboarding password was changed", "password_changed", user=user)
    db.session.commit()
    current_app.session_interface.store.delete_for_user(user.id, keep=session.id_hash)
