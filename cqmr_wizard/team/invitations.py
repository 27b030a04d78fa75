"""Invitations: create, resend, revoke and accept. The link's token carries 256 random bits
and is stored only as its SHA-256; the invitation row binds it to one organization and email."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.passwords import hash_password, password_problem
from ..extensions import db
from ..mail import external_url, send_mail
from ..models import Invitation, InvitationSend, Membership, MembershipRole, Organization, User
from ..models.base import utcnow
from .services import TeamError, lock_organization, ordered_roles, role_names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewInvitation:
    """One person to invite."""

    full_name: str
    email: str
    roles: tuple[str, ...]


class InvitationError(Exception):
    """The invitation link cannot be used; `reason` says why (see `PROBLEMS` in the views)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(Exception):
    """Sending would pass the organization's invitation limit; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def check_rate_limit(organization_id: int, wanted: int) -> None:
    """Refuse if sending `wanted` more emails would pass the per-organization limit."""
    config = current_app.config
    limit = int(config["INVITATION_RATE_LIMIT"])
    window = config["INVITATION_RATE_WINDOW"]
    sent = (
        db.session.scalar(
            select(func.count(InvitationSend.id)).where(
                InvitationSend.organization_id == organization_id,
                InvitationSend.sent_at > utcnow() - window,
            )
        )
        or 0
    )
    if sent + wanted > limit:
        minutes = int(window.total_seconds() // 60)
        left = max(0, limit - sent)
        raise RateLimited(
            f"Your organization can send {limit} invitations every {minutes} minutes and has "
            f"sent {sent} in that time, so {left} more can be sent now. Nothing was sent; "
            "try again later."
        )


def email_problems(organization_id: int, emails: Iterable[str]) -> dict[str, str]:
    """Why each of these (lower-case) emails cannot be invited, with two queries in all."""
    wanted = sorted(set(emails))
    if not wanted:
        return {}
    problems: dict[str, str] = {}
    pending = db.session.scalars(
        select(Invitation.email).where(
            Invitation.organization_id == organization_id,
            Invitation.email.in_(wanted),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    ).all()
    for email in pending:
        problems[email] = f"{email} already has an invitation waiting. Resend it from the team page instead."
    accounts = db.session.execute(
        select(func.lower(User.email), Membership.organization_id, User.is_operator)
        .outerjoin(Membership, Membership.user_id == User.id)
        .where(func.lower(User.email).in_(wanted))
    ).all()
    for email, org_id, is_operator in accounts:
        if is_operator:
            problems[email] = (
                f"{email} is a registry operator's account; operators cannot join an organization."
            )
        elif org_id == organization_id:
            problems[email] = f"{email} is already a member of your organization."
        elif org_id is not None:
            problems[email] = (
                f"{email} already belongs to another organization. A person can "
                "belong to only one organization in the CQMR."
            )
    return problems


def _send(actor: User, invitation: Invitation, token: str) -> None:
    """Mail the link; if the mail service fails, undo everything and say so."""
    db.session.add(
        InvitationSend(
            organization_id=invitation.organization_id,
            invitation_id=invitation.id,
            sent_at=invitation.sent_at,
        )
    )
    try:
        _deliver(actor, invitation, token)
    except (smtplib.SMTPException, OSError):
        log.exception("invitation mail could not be sent")
        db.session.rollback()
        raise TeamError(
            "The invitation email could not be sent because the mail service did "
            "not answer. Nothing was saved; try again in a few minutes."
        ) from None


def _deliver(actor: User, invitation: Invitation, token: str) -> None:
    send_mail(
        invitation.email,
        "You are invited to join your organization's CQMR onboarding",
        "invitation",
        invitation=invitation,
        inviter=actor,
        organization_name=organization_name(invitation),
        roles=role_names(invitation.roles),
        link=external_url("team.accept", token=token),
        expires=invitation.expires_at,
    )


def invite(
    actor: User, organization_id: int, people: Sequence[NewInvitation], source: str = "form"
) -> list[Invitation]:
    """Create and mail invitations for all `people`, or for none if any cannot be invited."""
    lock_organization(organization_id)
    problems = email_problems(organization_id, (p.email for p in people))
    if problems:
        raise TeamError(next(iter(problems.values())), "email")
    check_rate_limit(organization_id, len(people))
    now = utcnow()
    created = []
    for person in people:
        token = _new_token()
        invitation = Invitation(
            organization_id=organization_id,
            email=person.email,
            full_name=person.full_name,
            role_keys=" ".join(ordered_roles(person.roles)),
            token_hash=_digest(token),
            invited_by_id=actor.id,
            created_at=now,
            sent_at=now,
            expires_at=now + current_app.config["INVITATION_TTL"],
        )
        db.session.add(invitation)
        db.session.flush()
        audit.record(
            "invitation.created",
            actor_id=actor.id,
            organization_id=organization_id,
            details={
                "invitation_id": invitation.id,
                "email": invitation.email,
                "full_name": invitation.full_name,
                "roles": invitation.roles,
                "expires_at": invitation.expires_at,
                "source": source,
            },
        )
        _send(actor, invitation, token)
        created.append(invitation)
    db.session.commit()
    return created


def resend(actor: User, invitation: Invitation) -> None:
    """Mail a new link with a fresh expiry; the old link stops working."""
    lock_organization(invitation.organization_id)
    db.session.refresh(invitation)
    if invitation.accepted_at or invitation.revoked_at:
        raise TeamError(
            "This invitation was already "
            f"{'accepted' if invitation.accepted_at else 'revoked'}; it cannot be resent."
        )
    check_rate_limit(invitation.organization_id, 1)
    old_expiry = invitation.expires_at
    token = _new_token()
    now = utcnow()
    invitation.token_hash = _digest(token)
    invitation.sent_at = now
    invitation.expires_at = now + current_app.config["INVITATION_TTL"]
    invitation.send_count += 1
    audit.record(
        "invitation.resent",
        actor_id=actor.id,
        organization_id=invitation.organization_id,
        details={
            "invitation_id": invitation.id,
            "email": invitation.email,
            "old": {"expires_at": old_expiry},
            "new": {"expires_at": invitation.expires_at},
            "send_count": invitation.send_count,
        },
    )
    _send(actor, invitation, token)
    db.session.commit()


def revoke(actor: User, invitation: Invitation) -> None:
    """Stop the invitation's link from working."""
    lock_organization(invitation.organization_id)
    db.session.refresh(invitation)
    if invitation.accepted_at or invitation.revoked_at:
        raise TeamError(f"This invitation was already {'accepted' if invitation.accepted_at else 'revoked'}.")
    invitation.revoked_at = utcnow()
    invitation.revoked_by_id = actor.id
    audit.record(
        "invitation.revoked",
        actor_id=actor.id,
        organization_id=invitation.organization_id,
        details={
            "invitation_id": invitation.id,
            "email": invitation.email,
            "old": "pending",
            "new": "revoked",
        },
    )
    db.session.commit()


def find_by_token(token: str) -> Invitation:
    """The usable invitation for a link's token; raise InvitationError otherwise."""
    if not token or len(token) > 100:
        raise InvitationError("unknown")
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _digest(token)))
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
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvitationError("already_member") from None
    audit.record(
        "invitation.accepted",
        actor_id=user.id,
        organization_id=invitation.organization_id,
        subject_user_id=user.id,
        details={"invitation_id": invitation.id, "email": invitation.email},
    )
    audit.record(
        "membership.created",
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
    if db.session.scalar(select(User.id).where(func.lower(User.email) == invitation.email)):
        raise InvitationError("account_exists")
    user = User(email=invitation.email, full_name=full_name, password_hash=hash_password(password))
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvitationError("account_exists") from None
    audit.record(
        "account.signed_up",
        actor_id=user.id,
        subject_user_id=user.id,
        organization_id=invitation.organization_id,
        details={"via": "invitation", "invitation_id": invitation.id},
    )
    accept(invitation, user)
    return user


def organization_name(invitation: Invitation) -> str:
    """The name the invited person sees."""
    org: Organization = invitation.organization
    return org.legal_name or "your organization"
