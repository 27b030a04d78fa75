"""Account rules: sign-up, email verification, sign-in with throttling, password reset."""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import func, select, update

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..identity import membership_of
from ..mail import external_url, send_mail
from ..models import Organization, User
from ..models.base import utcnow
from ..refusals import Refusal
from . import throttle, tokens, unlock
from .passwords import hash_password, password_problem, verify_password

log = logging.getLogger(__name__)


class AccountError(Refusal):
    """An account rule refused the request."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def sign_up(full_name: str, email: str, password: str) -> None:
    """Create an unverified account and mail its verification link. If the address already has
    an account, mail its owner instead: the answer is the same, so sign-up reveals nothing."""
    problem = password_problem(password, [full_name, email, *email.split("@")])
    if problem:
        raise AccountError(problem, "password")
    password_hash = hash_password(password)  # spent either way, so timing tells nothing
    existing = find_user_by_email(email)
    if existing is not None:
        audit.record(AuditEventType.ACCOUNT_SIGN_UP_EXISTING, subject_user_id=existing.id)
        send_mail(
            existing.email,
            "Someone tried to create a CQMR onboarding account with your email address",
            "account_exists",
            user=existing,
            sign_in=external_url("auth.sign_in"),
            reset=external_url("auth.forgot_password"),
        )
        db.session.commit()
        return
    user = User(email=email, full_name=full_name, password_hash=password_hash)
    db.session.add(user)
    db.session.flush()
    audit.record(AuditEventType.ACCOUNT_SIGNED_UP, actor_id=user.id, subject_user_id=user.id)
    send_verification(user)
    db.session.commit()


def send_verification(user: User) -> None:
    """Mail a fresh verification link (the caller commits)."""
    ttl = current_app.config["EMAIL_TOKEN_TTL"]
    tokens.mail_link(
        user,
        tokens.VERIFY_EMAIL,
        ttl,
        "auth.verify_email",
        "Confirm your email address for CQMR onboarding",
        "verify_email",
        hours=int(ttl.total_seconds() // 3600),
    )


def resend_verification(email: str) -> None:
    """Send a new link if an unverified account has this email; reveal nothing either way."""
    user = find_user_by_email(email)
    if user is not None and not user.email_verified and user.is_active:
        send_verification(user)
        db.session.commit()


def verify_email(token: str) -> User:
    """Use a verification link; raise tokens.TokenError if it cannot be used."""
    row = tokens.consume_token(token, tokens.VERIFY_EMAIL)
    user = db.session.get(User, row.user_id)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    audit.record(AuditEventType.ACCOUNT_EMAIL_VERIFIED, actor_id=user.id, subject_user_id=user.id)
    db.session.commit()
    return user


class SignInRefused(Refusal):
    """Sign-in was refused: at the password, or at the email address while it is `unverified`."""

    def __init__(self, message: str, unverified: bool = False) -> None:
        super().__init__(message, "email" if unverified else "password")
        self.unverified = unverified


# One answer for an unknown address, a wrong password and a locked account alike.
NOT_RIGHT = "The email address or password is not right"


def authenticate(email: str, password: str) -> User:
    """Check a password sign-in; raise throttle.Throttled while this source must wait for this
    address, SignInRefused otherwise. Only someone who knows the password learns more."""
    throttle.check(email)
    user = find_user_by_email(email)
    if user is None:
        verify_password(None, password)
        _refuse(email, None, "unknown_email")
    right = verify_password(user.password_hash, password)
    if user.sign_in_locked_until and user.sign_in_locked_until > utcnow():
        if not right:
            throttle.record_failure(email)
        # The owner, with the right password, gets the unlock link again (not too often).
        _refuse(email, user, "locked", mail_unlock=right and unlock.reminder_due(user))
    if not right:
        throttle.record_failure(email)
        _refuse(email, user, "wrong_password", mail_unlock=_count_failure(user))
    if not user.is_active:
        audit.record(
            AuditEventType.AUTH_SIGN_IN_FAILED,
            actor_id=user.id,
            subject_user_id=user.id,
            details={"reason": "deactivated"},
        )
        db.session.commit()
        raise SignInRefused("This account has been deactivated. Contact your organization's administrator.")
    if not user.email_verified:
        raise SignInRefused("Confirm your email address before signing in", unverified=True)
    return user


def _refuse(email: str, user: User | None, reason: str, mail_unlock: bool = False) -> NoReturn:
    """Audit a refused sign-in, commit, and raise the one answer every failure gets."""
    details: dict[str, object] = {"reason": reason}
    if user is None:
        throttle.record_failure(email)
        audit.record(AuditEventType.AUTH_SIGN_IN_FAILED, details=details)
    elif reason == "locked":
        audit.record(
            AuditEventType.AUTH_SIGN_IN_FAILED, actor_id=user.id, subject_user_id=user.id, details=details
        )
    db.session.commit()
    if mail_unlock:
        unlock.send_link(user)
    raise SignInRefused(NOT_RIGHT)


def _count_failure(user: User) -> bool:
    """Count a consecutive failure on the account from anywhere; at the threshold lock it and
    return True (the caller commits, then mails the owner a link that lifts the lock)."""
    threshold = current_app.config["SIGN_IN_LOCKOUT_THRESHOLD"]
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_sign_in_count=User.failed_sign_in_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    details = {"reason": "wrong_password", "consecutive_failures": user.failed_sign_in_count}
    locked = user.failed_sign_in_count >= threshold
    if locked:
        user.sign_in_locked_until = utcnow() + current_app.config["SIGN_IN_LOCKOUT"]
        user.failed_sign_in_count = 0
        details["locked"] = True
    audit.record(
        AuditEventType.AUTH_SIGN_IN_FAILED, actor_id=user.id, subject_user_id=user.id, details=details
    )
    return locked


class OrganizationOffboarded(Refusal):
    """Sign-in refused: the person's organization no longer takes part in the CQMR."""

    status = 403

    def __init__(self, organization: Organization) -> None:
        super().__init__(f"{organization.legal_name or 'Your organization'} no longer takes part in the CQMR")
        self.organization = organization


def refuse_if_offboarded(user: User, method: str) -> None:
    """Raise OrganizationOffboarded (audited) when the person's organization was offboarded:
    only someone who has given their first factor learns it."""
    membership = membership_of(user)
    if membership is None or membership.organization.offboarded_at is None:
        return
    audit.record(
        AuditEventType.AUTH_SIGN_IN_FAILED,
        actor_id=user.id,
        subject_user_id=user.id,
        organization_id=membership.organization_id,
        details={"reason": "offboarded", "method": method},
    )
    db.session.commit()
    raise OrganizationOffboarded(membership.organization)


def start_session(user: User, method: str) -> None:
    """Sign the user in with a fresh session id after the first factor; the second factor
    (mfa.challenge, or enrollment) raises the session to "full". Raise OrganizationOffboarded,
    signing nobody in, for a member of an organization that no longer takes part."""
    refuse_if_offboarded(user, method)
    session.clear()
    session.rotate()
    login_user(user)
    session["auth_level"] = "password"
    session["auth_method"] = method
    session["auth_at"] = utcnow().isoformat()
    user.failed_sign_in_count = 0
    user.sign_in_locked_until = None
    user.last_sign_in_at = utcnow()
    throttle.clear(user.email)
    audit.record(
        AuditEventType.AUTH_SIGNED_IN, actor_id=user.id, subject_user_id=user.id, details={"method": method}
    )
    db.session.commit()


def sign_out(user: User) -> None:
    """End this session on the server."""
    audit.record(AuditEventType.AUTH_SIGNED_OUT, actor_id=user.id, subject_user_id=user.id)
    db.session.commit()
    logout_user()
    session.end()


def sign_out_everywhere(user: User) -> int:
    """End every session of this user, this one included; return how many ended."""
    store = current_app.session_interface.store
    ended = store.delete_for_user(user.id)
    audit.record(
        AuditEventType.AUTH_SIGNED_OUT_EVERYWHERE,
        actor_id=user.id,
        subject_user_id=user.id,
        details={"sessions_ended": ended},
    )
    db.session.commit()
    logout_user()
    session.end()
    return ended


def request_password_reset(email: str) -> None:
    """Mail a reset link if the account exists; reveal nothing either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    ttl = current_app.config["PASSWORD_RESET_TTL"]
    audit.record(AuditEventType.ACCOUNT_PASSWORD_RESET_REQUESTED, actor_id=user.id, subject_user_id=user.id)
    tokens.mail_link(
        user,
        tokens.RESET_PASSWORD,
        ttl,
        "auth.reset_password",
        "Reset your CQMR onboarding password",
        "reset_password",
        minutes=int(ttl.total_seconds() // 60),
    )
    db.session.commit()


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link and end every existing session."""
    row = tokens.peek_token(token, tokens.RESET_PASSWORD)
    user = db.session.get(User, row.user_id)
    problem = password_problem(new_password, [user.full_name, user.email])
    if problem:
        raise AccountError(problem, "password")
    tokens.consume_token(token, tokens.RESET_PASSWORD)
    tokens.revoke_tokens(user.id, tokens.RESET_PASSWORD)
    user.password_hash = hash_password(new_password)
    user.failed_sign_in_count = 0
    user.sign_in_locked_until = None
    throttle.clear(user.email, everywhere=True)
    if user.email_verified_at is None:
        # The reset link proved control of the mailbox.
        user.email_verified_at = utcnow()
    audit.record(AuditEventType.ACCOUNT_PASSWORD_RESET, actor_id=user.id, subject_user_id=user.id)
    send_mail(user.email, "Your CQMR onboarding password was changed", "password_changed", user=user)
    db.session.commit()
    current_app.session_interface.store.delete_for_user(user.id)
    return user
