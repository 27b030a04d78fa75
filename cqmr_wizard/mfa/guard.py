"""Second-factor state in the database, so every worker and host sees the same: the replay
guard (each credential's last accepted time step), growing delays after failures, lock-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, update

from ..backoff import doubling
from ..extensions import db
from ..models import MfaState, TotpCredential
from ..upsert import upsert


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused before its code is even looked at."""

    locked: bool
    until: datetime

    def message(self, now: datetime) -> str:
        wait = max(1, int((self.until - now).total_seconds() + 0.999))
        if self.locked:
            minutes = max(1, (wait + 59) // 60)
            return (
                "Two-step verification is locked because of too many codes that were not right. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''} "
                f"(after {self.until:%H:%M} UTC), or ask your organization's administrator "
                "to unlock it."
            )
        return (
            "Too many codes that were not right. "
            f"Wait {wait} second{'s' if wait != 1 else ''}, then try again with a new code."
        )


def ensure_state(user_id: int) -> None:
    """Create the user's state row if it is missing; safe when two requests race."""
    db.session.execute(
        upsert(db.session.get_bind(), MfaState, ["user_id"], None).values(user_id=user_id, failed_attempts=0)
    )


def lock_state(user_id: int, now: datetime) -> MfaState:
    """Take the user's state row for this transaction (row lock on PostgreSQL, the write lock
    on SQLite), so attempts on one account are counted one after another."""
    ensure_state(user_id)
    db.session.execute(
        update(MfaState)
        .where(MfaState.user_id == user_id)
        .values(last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return db.session.get(MfaState, user_id, populate_existing=True)


def delay_after(failures: int) -> timedelta:
    """How long to wait after `failures` consecutive failures before the next attempt."""
    config = current_app.config
    free = config["MFA_THROTTLE_FREE_ATTEMPTS"]
    if failures < free:
        return timedelta(0)
    return doubling(config["MFA_THROTTLE_BASE_DELAY"], failures - free, config["MFA_THROTTLE_MAX_DELAY"])


def refusal(state: MfaState, now: datetime) -> Refusal | None:
    """The lock or delay that stops an attempt now, if any."""
    if state.locked_until and state.locked_until > now:
        return Refusal(True, state.locked_until)
    delay = delay_after(state.failed_attempts)
    if delay and state.last_failed_at is not None and state.last_failed_at + delay > now:
        return Refusal(False, state.last_failed_at + delay)
    return None


def lock_expired(state: MfaState, now: datetime) -> bool:
    """True when a lock has run out; clears it (the caller audits and commits)."""
    if state.locked_until is not None and state.locked_until <= now:
        state.locked_until = None
        return True
    return False


def claim_step(credential_id: int, step: int) -> bool:
    """Accept time step `step` for this credential unless it, or a later one, was accepted.

    One conditional UPDATE: of two workers, instances or requests racing with the same code,
    exactly one sees a row count of 1."""
    result = db.session.execute(
        update(TotpCredential)
        .where(TotpCredential.id == credential_id)
        .where(or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step))
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def record_failure(state: MfaState, now: datetime) -> bool:
    """Count a failure; return True if it locks the account."""
    db.session.execute(
        update(MfaState)
        .where(MfaState.user_id == state.user_id)
        .values(failed_attempts=MfaState.failed_attempts + 1, last_failed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(state)
    if state.failed_attempts >= current_app.config["MFA_LOCKOUT_THRESHOLD"]:
        state.locked_until = now + current_app.config["MFA_LOCKOUT"]
        state.failed_attempts = 0
        state.last_failed_at = None
        return True
    return False


def clear_failures(state: MfaState) -> None:
    """A success, or an administrator, clears the counters and any lock."""
    state.failed_attempts = 0
    state.last_failed_at = None
    state.locked_until = None
