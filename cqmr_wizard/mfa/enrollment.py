"""Enrolling an authenticator: the pending key shown as a QR code, a new key on request, and its
activation once a code from it checks out (which replaces any active one)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import TotpCredential, User
from ..models.base import utcnow
from ..models.mfa import ACTIVE, PENDING
from . import guard, recovery, totp
from .events import notify, record
from .services import check_code, credential, has_active_credential, has_passkey, mark_passed


@dataclass(frozen=True)
class Enrolled:
    offset: int
    replaced: bool
    recovery_codes: list[str] | None


def _new_pending(user: User, **details: object) -> TotpCredential:
    guard.ensure_state(user.id)
    pending = TotpCredential(user_id=user.id, state=PENDING, secret_encrypted=totp.encrypt(totp.new_secret()))
    db.session.add(pending)
    db.session.flush()
    record(AuditEventType.MFA_ENROLLMENT_STARTED, user, replacing=has_active_credential(user.id), **details)
    return pending


def start_enrollment(user: User, pending: TotpCredential | None = None) -> TotpCredential:
    """Return the pending credential (`pending`, when the caller has just read it), creating one
    only if there is none: re-opening the page never changes a key the user may already have
    scanned."""
    pending = pending or credential(user.id, PENDING)
    if pending is not None:
        return pending
    try:
        pending = _new_pending(user)
        db.session.commit()
    except IntegrityError:  # another request created it first
        db.session.rollback()
        pending = credential(user.id, PENDING)
    return pending


def restart_enrollment(user: User) -> TotpCredential:
    """Throw the pending key away and make a new one, at the user's explicit request."""
    db.session.execute(
        delete(TotpCredential).where(TotpCredential.user_id == user.id, TotpCredential.state == PENDING)
    )
    try:
        pending = _new_pending(user, restarted=True)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        pending = credential(user.id, PENDING)
    return pending


def confirm_enrollment(user: User, code: str) -> Enrolled:
    """Activate the pending credential once a code from it checks out; replaces any active one.
    A first enrollment also issues recovery codes (returned in plain text this once)."""
    pending, match = check_code(user, code, "enrollment", PENDING)
    old = credential(user.id, ACTIVE)
    if old is not None:
        db.session.delete(old)
        db.session.flush()
    pending.state = ACTIVE
    pending.activated_at = utcnow()
    # Recovery codes come with the first second factor, app or passkey, and only then.
    codes = None if old is not None or has_passkey(user.id) else recovery.issue(user)
    record(AuditEventType.MFA_ENROLLED, user, replaced=old is not None, clock_offset_steps=match.offset)
    if old is None:
        notify(
            user,
            "Two-step verification is on for your CQMR onboarding account",
            "mfa_enrolled",
            replaced=False,
        )
    else:
        notify(user, "Your CQMR onboarding authenticator app was changed", "mfa_enrolled", replaced=True)
    db.session.commit()
    mark_passed("totp")
    return Enrolled(match.offset, old is not None, codes)
