"""Passkeys as a second factor: adding one, using one (sign-in, confirming it is you, signing an
agreement), removing one. The ceremonies themselves are ceremony.py.

Every refusal is audited with the rule that refused it and counted like a wrong code."""

from __future__ import annotations

from typing import NoReturn

from flask import session
from sqlalchemy import and_, or_, select, update

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import User, WebAuthnCredential
from ..models.base import utcnow
from . import ceremony, guard, recovery
from .events import notify, record
from .services import MfaError, Throttled, begin_attempt, has_active_credential, mark_passed

MESSAGES = {
    "replayed": "This passkey request has already been answered. Try again: your browser will ask "
    "for your passkey once more",
    "expired": "The passkey request ran out of time. Try again",
    "origin": "The passkey answered for a different website address. Use your passkey only on "
    "this site's own address",
    "user_verification": "Your passkey did not check that it is you. Try again, and unlock the "
    "passkey with your PIN, fingerprint or face when asked",
    "counter": "This passkey was not accepted: its use counter went backwards, which can mean it "
    "was copied. Use your authenticator app or a recovery code, then remove this passkey and "
    "add a new one",
    "not_yours": "That passkey is not one added to this account. Use a passkey you added here, "
    "or your authenticator app",
    "invalid": "Your passkey's answer could not be checked. Try again",
    "missing": "Your browser did not send a passkey. Try again, or use your authenticator app",
}
DEFAULT_NAME = "Passkey"


class PasskeyError(MfaError):
    """A passkey ceremony was refused; the message is the form's (there is no field to link to)."""

    def __init__(self, reason: str) -> None:
        super().__init__(MESSAGES[reason], None)
        self.reason = reason


def held(user_id: int) -> list[WebAuthnCredential]:
    """The user's passkeys, oldest first."""
    return list(
        db.session.scalars(
            select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user_id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
            .execution_options(populate_existing=True)
        )
    )


def refuse(user: User, purpose: str, reason: str, passkey: WebAuthnCredential | None = None) -> NoReturn:
    """Count a refused ceremony, audit it (a backwards counter as a clone warning), commit, refuse."""
    now = utcnow()
    state = begin_attempt(user, purpose)
    locked = guard.record_failure(state, now)
    record(
        AuditEventType.MFA_PASSKEY_REFUSED,
        user,
        purpose=purpose,
        reason=reason,
        passkey_id=passkey.id if passkey else None,
        clone_warning=reason == "counter" or None,
    )
    if reason == "counter" and passkey is not None:
        notify(
            user,
            "A passkey on your CQMR onboarding account was refused",
            "mfa_passkey",
            change="refused",
            name=passkey.name,
        )
    if locked:
        record(AuditEventType.MFA_LOCKED, user, until=state.locked_until.isoformat())
    db.session.commit()
    if locked:
        raise Throttled(guard.Refusal(True, state.locked_until).message(now))
    raise PasskeyError(reason)


def register(user: User, payload: str, name: str) -> list[str] | None:
    """Add a passkey from a navigator.credentials.create() result. The first second factor also
    issues recovery codes (returned in plain text this once); the caller marks the session."""
    if not payload:
        refuse(user, "register", "missing")
    begin_attempt(user, "register")
    try:
        new = ceremony.verify_registration(payload)
    except ceremony.CeremonyFailed as failed:
        refuse(user, "register", failed.reason)
    if db.session.scalar(
        select(WebAuthnCredential.id).where(WebAuthnCredential.credential_id == new.credential_id)
    ):
        refuse(user, "register", "not_yours")
    first = not held(user.id) and not has_active_credential(user.id)
    passkey = WebAuthnCredential(
        user_id=user.id,
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        transports=new.transports,
        name=(name or "").strip()[:100] or DEFAULT_NAME,
    )
    db.session.add(passkey)
    db.session.flush()
    codes = recovery.issue(user) if first else None
    record(AuditEventType.MFA_PASSKEY_REGISTERED, user, passkey_id=passkey.id, name=passkey.name, first=first)
    if first:
        record(AuditEventType.MFA_ENROLLED, user, replaced=False, method="passkey")
    notify(
        user,
        "A passkey was added to your CQMR onboarding account",
        "mfa_passkey",
        change="added",
        name=passkey.name,
    )
    db.session.commit()
    return codes


def authenticate(user: User, payload: str, purpose: str) -> WebAuthnCredential:
    """Check a navigator.credentials.get() result against one of the user's passkeys, once: the
    challenge leaves the session, and the counter and challenge are claimed in one conditional
    UPDATE. On success the caller commits (with its own change, for a signature)."""
    if not payload:
        refuse(user, purpose, "missing")
    state = begin_attempt(user, purpose)
    try:
        challenge = ceremony.take_challenge(ceremony.GET)
        credential_id = ceremony.assertion_credential_id(payload)
    except ceremony.CeremonyFailed as failed:
        refuse(user, purpose, failed.reason)
    passkey = db.session.scalar(
        select(WebAuthnCredential)
        .where(WebAuthnCredential.credential_id == credential_id)
        .execution_options(populate_existing=True)
    )
    if passkey is None or passkey.user_id != user.id:  # removed, or someone else's
        refuse(user, purpose, "not_yours")
    try:
        assertion = ceremony.verify_assertion(payload, challenge, passkey)
    except ceremony.CeremonyFailed as failed:
        refuse(user, purpose, failed.reason, passkey)
    if (assertion.sign_count or passkey.sign_count) and assertion.sign_count <= passkey.sign_count:
        refuse(user, purpose, "counter", passkey)
    claimed = db.session.execute(
        update(WebAuthnCredential)
        .where(
            WebAuthnCredential.id == passkey.id,
            or_(
                WebAuthnCredential.last_challenge.is_(None),
                WebAuthnCredential.last_challenge != assertion.challenge_digest,
            ),
            or_(
                WebAuthnCredential.sign_count < assertion.sign_count,
                and_(WebAuthnCredential.sign_count == 0, assertion.sign_count == 0),
            ),
        )
        .values(
            sign_count=assertion.sign_count, last_challenge=assertion.challenge_digest, last_used_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # a twin request answered with the same assertion first
        refuse(user, purpose, "replayed", passkey)
    guard.clear_failures(state)
    record(AuditEventType.MFA_PASSKEY_USED, user, passkey_id=passkey.id, purpose=purpose)
    return passkey


class CannotRemove(MfaError):
    """The passkey is the person's only second factor."""


def remove(user: User, passkey_id: int) -> WebAuthnCredential:
    """Remove one of the user's passkeys; never the last second factor. The caller has checked
    that the session gave a fresh second factor."""
    mine = held(user.id)
    passkey = next((p for p in mine if p.id == passkey_id), None)
    if passkey is None:
        raise MfaError("That passkey is not on your account. It may have been removed already.", None)
    if len(mine) == 1 and not has_active_credential(user.id):
        raise CannotRemove(
            "You cannot remove your only passkey while you have no other second factor. Add "
            "another passkey or an authenticator app first.",
            None,
        )
    db.session.delete(passkey)
    record(AuditEventType.MFA_PASSKEY_REMOVED, user, passkey_id=passkey.id, name=passkey.name)
    notify(
        user,
        "A passkey was removed from your CQMR onboarding account",
        "mfa_passkey",
        change="removed",
        name=passkey.name,
    )
    db.session.commit()
    return passkey


def pass_challenge(user: User, payload: str) -> None:
    """Sign in with a passkey as the second factor: the session becomes fully signed in."""
    authenticate(user, payload, "sign_in")
    record(AuditEventType.MFA_CHALLENGE_PASSED, user, method="passkey")
    db.session.commit()
    mark_passed("passkey")


def reauthenticate(user: User, payload: str) -> None:
    """A fresh passkey ceremony before changing the second factor."""
    authenticate(user, payload, "reauthenticate")
    record(AuditEventType.MFA_CHALLENGE_PASSED, user, method="passkey", purpose="reauthenticate")
    db.session.commit()
    session["mfa_verified_at"] = utcnow().isoformat()
