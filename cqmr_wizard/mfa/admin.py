"""What an organization administrator may do about a member's second factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Membership, MfaState, RecoveryCode, TotpCredential, User, WebAuthnCredential
from ..models.base import utcnow
from ..models.mfa import ACTIVE, PENDING
from ..refusals import Refusal
from . import guard, recovery
from .events import notify, record


class NotAllowed(Refusal):
    """The administrator may not do this to this member."""


@dataclass(frozen=True)
class MemberSecondFactor:
    """What an administrator sees about a member's two-step verification."""

    enrolled: bool
    pending: bool
    activated_at: datetime | None
    locked_until: datetime | None
    recovery_codes_left: int
    passkeys: int = 0

    @property
    def kind(self) -> str:
        """Which second factors the person holds: "app", "passkey", "both" or "none"."""
        return {(True, True): "both", (True, False): "app", (False, True): "passkey"}.get(
            (self.enrolled, self.passkeys > 0), "none"
        )


def find_member(organization_id: int, user_id: int) -> Membership | None:
    """The member `user_id` of this organization; None for anyone else."""
    return db.session.scalar(
        select(Membership)
        .options(joinedload(Membership.user))
        .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
    )


def member_status(user_id: int) -> MemberSecondFactor:
    """The member's second-factor status, for the administrator's page."""
    states = {
        c.state: c
        for c in db.session.scalars(select(TotpCredential).where(TotpCredential.user_id == user_id))
    }
    state = db.session.get(MfaState, user_id)
    now = utcnow()
    locked = state.locked_until if state and state.locked_until and state.locked_until > now else None
    active = states.get(ACTIVE)
    return MemberSecondFactor(
        enrolled=active is not None,
        pending=PENDING in states,
        activated_at=active.activated_at if active else None,
        locked_until=locked,
        recovery_codes_left=recovery.remaining(user_id),
        passkeys=len(
            db.session.scalars(
                select(WebAuthnCredential.id).where(WebAuthnCredential.user_id == user_id)
            ).all()
        ),
    )


def check_not_self(actor: User, member_user: User) -> None:
    """Administrators change their own second factor on their settings page, not here."""
    if actor.id == member_user.id:
        raise NotAllowed(
            "You cannot do this to your own account here. To change your own "
            "authenticator app, go to your two-step verification settings."
        )


def reset_second_factor(actor: User, member_user: User) -> None:
    """Remove the member's authenticator, passkeys and recovery codes, end their sessions, audit and mail.
    They set up two-step verification again at their next sign-in. The caller has checked
    that `actor` administers the member's organization and has just given a fresh code."""
    check_not_self(actor, member_user)
    db.session.execute(delete(TotpCredential).where(TotpCredential.user_id == member_user.id))
    db.session.execute(delete(WebAuthnCredential).where(WebAuthnCredential.user_id == member_user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == member_user.id))
    guard.ensure_state(member_user.id)
    state = db.session.get(MfaState, member_user.id, populate_existing=True)
    guard.clear_failures(state)
    state.recovery_codes_confirmed_at = None
    record(AuditEventType.MFA_RESET, member_user, actor=actor, by_user_id=actor.id, by_email=actor.email)
    notify(
        member_user,
        "Two-step verification on your CQMR onboarding account was reset",
        "mfa_reset",
        actor=actor,
    )
    db.session.commit()
    # After the commit: on SQLite the session store writes on a connection of its own.
    current_app.session_interface.store.delete_for_user(member_user.id)


def unlock_second_factor(actor: User, member_user: User) -> None:
    """Lift a lock-out before it runs out, audited and mailed."""
    check_not_self(actor, member_user)
    guard.ensure_state(member_user.id)
    state = db.session.get(MfaState, member_user.id, populate_existing=True)
    guard.clear_failures(state)
    record(
        AuditEventType.MFA_UNLOCKED,
        member_user,
        actor=actor,
        reason="administrator",
        by_user_id=actor.id,
        by_email=actor.email,
    )
    notify(
        member_user,
        "Two-step verification on your CQMR onboarding account was unlocked",
        "mfa_unlocked",
        actor=actor,
    )
    db.session.commit()
