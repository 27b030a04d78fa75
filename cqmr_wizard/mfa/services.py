"""Two-step verification rules: the credentials, the sign-in challenge, re-checks (enrolling an
authenticator is enrollment.py).

Every code is checked under the account's state row (see guard.py): refused while throttled
or locked, counted when wrong, and its time step accepted at most once."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from flask import current_app, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import MfaState, TotpCredential, User, WebAuthnCredential
from ..models.base import utcnow
from ..models.mfa import ACTIVE, PENDING
from ..refusals import Refusal
from ..security import safe_next_path
from . import guard, recovery, totp
from .events import notify, record

WRONG_CODE = "The code is not right. Enter the 6-digit code your authenticator app shows now"
REPLAYED_CODE = (
    "That code has already been used. Wait for your authenticator app to show a new code, then enter it"
)
WRONG_RECOVERY_CODE = "The recovery code is not right, or it has already been used"


class MfaError(Refusal):
    """A second-factor rule refused the attempt; the message goes next to the code (or, with
    `field` None, on the form)."""

    def __init__(self, message: str, field: str | None = "code") -> None:
        super().__init__(message, field)


class Throttled(MfaError):
    """Refused before the code was looked at: too many failures (429)."""

    status = 429


def credential(user_id: int, state: str = ACTIVE) -> TotpCredential | None:
    """The user's active (or pending) credential."""
    return db.session.scalar(
        select(TotpCredential)
        .where(TotpCredential.user_id == user_id, TotpCredential.state == state)
        .execution_options(populate_existing=True)
    )


def credentials(user_id: int) -> dict[str, TotpCredential]:
    """The user's credentials by state (an active one, a pending one), read in one query."""
    held = db.session.scalars(
        select(TotpCredential)
        .where(TotpCredential.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return {held_credential.state: held_credential for held_credential in held}


def has_active_credential(user_id: int) -> bool:
    """True once the user has confirmed an authenticator."""
    return credential(user_id) is not None


def has_passkey(user_id: int) -> bool:
    """True when the user holds at least one passkey."""
    return (
        db.session.scalar(select(WebAuthnCredential.id).where(WebAuthnCredential.user_id == user_id).limit(1))
        is not None
    )


def has_second_factor(user_id: int) -> bool:
    """True once the user has a confirmed authenticator app or a passkey."""
    return has_active_credential(user_id) or has_passkey(user_id)


def second_factor_url() -> str:
    """Where a password-only session is sent: enrollment until there is an active credential,
    the challenge after. Remembers the page that was asked for."""
    if request.method == "GET":
        target = safe_next_path(request.full_path)
        if target:
            session["mfa_next"] = target
    if has_second_factor(current_user.id):
        return url_for("mfa.challenge")
    return url_for("mfa.enroll")


def next_path() -> str:
    """The page the user asked for before the second factor (once), or the task list."""
    return safe_next_path(session.pop("mfa_next", None)) or url_for("main.tasks")


def is_fresh() -> bool:
    """True when this session passed a code recently enough to change the second factor."""
    stamp = session.get("mfa_verified_at")
    if not stamp or session.get("auth_level") != "full":
        return False
    passed = datetime.fromisoformat(stamp)
    return utcnow() - passed <= current_app.config["MFA_FRESH_WINDOW"]


def _begin(user: User, now: datetime, purpose: str) -> MfaState:
    """Lock the account's state row and refuse the attempt while throttled or locked."""
    state = guard.lock_state(user.id, now)
    now = max(now, utcnow())  # the lock may have kept this request waiting
    if guard.lock_expired(state, now):
        record(AuditEventType.MFA_UNLOCKED, user, reason="lock_expired")
    refused = guard.refusal(state, now)
    if refused:
        record(
            AuditEventType.MFA_CHALLENGE_FAILED,
            user,
            purpose=purpose,
            reason="locked" if refused.locked else "throttled",
        )
        db.session.commit()
        raise Throttled(refused.message(now))
    return state


def begin_attempt(user: User, purpose: str) -> MfaState:
    """Lock the account's state row for a second-factor attempt; refused while throttled or locked."""
    return _begin(user, utcnow(), purpose)


def _fail(
    user: User, state: MfaState, now: datetime, purpose: str, reason: str, message: str, replay: bool = False
) -> NoReturn:
    """Count a failed attempt, audit it, commit, tell the user by mail where needed, refuse."""
    locked = guard.record_failure(state, now)
    record(
        AuditEventType.MFA_REPLAY_REJECTED if replay else AuditEventType.MFA_CHALLENGE_FAILED,
        user,
        purpose=purpose,
        reason=reason,
        consecutive_failures=state.failed_attempts if not locked else None,
    )
    until = state.locked_until
    if locked:
        record(AuditEventType.MFA_LOCKED, user, until=until.isoformat())
    if replay:
        notify(
            user,
            "A used sign-in code was tried on your CQMR onboarding account",
            "mfa_replay",
            recovery=reason.startswith("recovery"),
        )
    if locked:
        notify(
            user, "Two-step verification on your CQMR onboarding account is locked", "mfa_locked", until=until
        )
    db.session.commit()
    if locked:
        raise Throttled(guard.Refusal(True, until).message(now))
    raise MfaError(message)


def check_code(user: User, code: str, purpose: str, state: str = ACTIVE) -> tuple[TotpCredential, totp.Match]:
    """Check a TOTP code against the user's credential in `state`; on success the step is
    claimed and the counters cleared, and the caller commits with its own change."""
    now = utcnow()
    account = _begin(user, now, purpose)
    found = credential(user.id, state)
    if found is None:
        db.session.commit()
        raise MfaError(
            "There is no authenticator being set up: it may have been finished "
            "in another window. Reload the page."
            if state == PENDING
            else "Two-step verification is not set up. Start again.",
            None,
        )
    match = totp.match_code(totp.decrypt(found.secret_encrypted), totp.normalise_code(code), now)
    if match is None:
        _fail(user, account, now, purpose, "wrong_code", WRONG_CODE)
    if not guard.claim_step(found.id, match.step):
        _fail(user, account, now, purpose, "replay", REPLAYED_CODE, replay=True)
    guard.clear_failures(account)
    return found, match


def mark_passed(method: str) -> None:
    """The session has given both factors: a new session id, and the full level."""
    session.rotate()
    session["auth_level"] = "full"
    session["mfa_method"] = method
    session["mfa_verified_at"] = utcnow().isoformat()


def pass_challenge(user: User, code: str) -> int:
    """Check the sign-in code; on success mark the session fully signed in. Returns the clock
    offset in steps (0 when the device's clock is right)."""
    _, match = check_code(user, code, "sign_in")
    record(AuditEventType.MFA_CHALLENGE_PASSED, user, method="totp", clock_offset_steps=match.offset)
    db.session.commit()
    mark_passed("totp")
    return match.offset


def pass_recovery_challenge(user: User, typed: str) -> int:
    """Sign in with a single-use recovery code in place of a TOTP code; return how many are left."""
    now = utcnow()
    account = _begin(user, now, "sign_in")
    if not has_second_factor(user.id):
        db.session.commit()
        raise MfaError("Two-step verification is not set up. Start again.", None)
    code = recovery.find_unused(user.id, typed)
    if code is None:
        _fail(user, account, now, "sign_in", "wrong_recovery_code", WRONG_RECOVERY_CODE)
    if not recovery.claim(code.id, now):
        _fail(user, account, now, "sign_in", "recovery_code_reused", WRONG_RECOVERY_CODE, replay=True)
    guard.clear_failures(account)
    left = recovery.remaining(user.id)
    record(AuditEventType.MFA_RECOVERY_CODE_USED, user, position=code.position, remaining=left)
    record(AuditEventType.MFA_CHALLENGE_PASSED, user, method="recovery_code")
    notify(
        user,
        "A recovery code was used to sign in to your CQMR onboarding account",
        "mfa_recovery_code_used",
        remaining=left,
    )
    db.session.commit()
    mark_passed("recovery_code")
    return left


def reauthenticate(user: User, code: str) -> int:
    """A fresh code before changing the second factor; returns the clock offset in steps."""
    _, match = check_code(user, code, "reauthenticate")
    record(AuditEventType.MFA_CHALLENGE_PASSED, user, method="totp", purpose="reauthenticate")
    db.session.commit()
    session["mfa_verified_at"] = utcnow().isoformat()
    return match.offset


def recovery_codes_saved(user_id: int) -> bool:
    """True when the user confirmed saving their current recovery codes."""
    return (
        db.session.scalar(select(MfaState.recovery_codes_confirmed_at).where(MfaState.user_id == user_id))
        is not None
    )
