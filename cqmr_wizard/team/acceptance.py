"""Accepting an invitation: the link's token finds the invitation, and the person (with an
existing account or a new one) becomes a member with the invited roles, exactly once."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..audit.events import AuditEventType
from ..auth.passwords import hash_password, password_problem
from ..auth.services import find_user_by_email
from ..extensions import db
from ..models import Invitation, Membership, MembershipRole, User
from ..models.base import utcnow
from .invitations import InvitationError, digest
from .services import TeamError


def find_by_token(token: str) -> Invitation:
    """The usable invitation for a link's token; raise InvitationError otherwise."""
    if not token or len(token) > 100:
        raise InvitationError("unknown")
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == digest(token)))
    if invitation is None:
        raise InvitationError("unknown")
    status = invitation.status()
    if status != "pending":
        raise InvitationError(status)
    return invitation


def accept(invitation: Invitation, user: User) -> Membership:
    """Make `user` a member with the invited roles. The caller checked the token."""
    if user.email.lower() != invitation.email:
        raise InvitationError("wrong_account")
    if not user.is_active:
        raise InvitationError("deactivated")
    if user.is_operator:
        raise InvitationError("operator")
    if db.session.scalar(select(Membership.id).where(Membership.user_id == user.id)) is not None:
        raise InvitationError("already_member")
    now = utcnow()
    used = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now, accepted_user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        db.session.rollback()
        raise InvitationError("accepted")
    if user.email_verified_at is None:
        # The link reached this mailbox, so the address is proven.
        user.email_verified_at = now
    member = Membership(organization_id=invitation.organization_id, user_id=user.id)
    for role in invitation.roles:
        member.role_rows.append(MembershipRole(role=role))
    db.session.add(member)
    _flush_or_refuse("already_member")
    audit.record(
        AuditEventType.INVITATION_ACCEPTED,
        actor_id=user.id,
        organization_id=invitation.organization_id,
        subject_user_id=user.id,
        details={"invitation_id": invitation.id, "email": invitation.email},
    )
    audit.record(
        AuditEventType.MEMBERSHIP_CREATED,
        actor_id=user.id,
        organization_id=invitation.organization_id,
        subject_user_id=user.id,
        details={
            "membership_id": member.id,
            "old": None,
            "new": invitation.roles,
            "invited_by_id": invitation.invited_by_id,
        },
    )
    db.session.commit()
    return member


def accept_with_new_account(invitation: Invitation, full_name: str, password: str) -> User:
    """Create the invited person's account (email verified by the link) and accept."""
    problem = password_problem(password, [full_name, invitation.email, *invitation.email.split("@")])
    if problem:
        raise TeamError(problem, "password")
    if find_user_by_email(invitation.email) is not None:
        raise InvitationError("account_exists")
    user = User(email=invitation.email, full_name=full_name, password_hash=hash_password(password))
    db.session.add(user)
    _flush_or_refuse("account_exists")
    audit.record(
        AuditEventType.ACCOUNT_SIGNED_UP,
        actor_id=user.id,
        subject_user_id=user.id,
        organization_id=invitation.organization_id,
        details={"via": "invitation", "invitation_id": invitation.id},
    )
    accept(invitation, user)
    return user


def _flush_or_refuse(reason: str) -> None:
    """Write the new rows; a uniqueness constraint refusing them means `reason`."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvitationError(reason) from None
