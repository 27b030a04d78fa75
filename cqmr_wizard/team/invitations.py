"""Invitations: create, resend and revoke (acceptance is in acceptance.py). The link's token carries 256 random bits
and is stored only as its SHA-256; the invitation row binds it to one organization and email."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import external_url, send_mail
from ..models import Invitation, InvitationSend, Membership, User
from ..models.base import utcnow
from ..refusals import Refusal
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


class RateLimited(Refusal):
    """Sending would pass the organization's invitation limit (429)."""

    status = 429


def digest(token: str) -> str:
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
    # Only this organization's own members are named: whether an address belongs to another
    # organization or to an operator is not the inviter's to learn; acceptance refuses those.
    members = db.session.scalars(
        select(func.lower(User.email))
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id, func.lower(User.email).in_(wanted))
    ).all()
    for email in members:
        problems[email] = f"{email} is already a member of your organization."
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
    _deliver(actor, invitation, token)


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
            token_hash=digest(token),
            invited_by_id=actor.id,
            created_at=now,
            sent_at=now,
            expires_at=now + current_app.config["INVITATION_TTL"],
        )
        db.session.add(invitation)
        db.session.flush()
        audit.record(
            AuditEventType.INVITATION_CREATED,
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
    invitation.token_hash = digest(token)
    invitation.sent_at = now
    invitation.expires_at = now + current_app.config["INVITATION_TTL"]
    invitation.send_count += 1
    audit.record(
        AuditEventType.INVITATION_RESENT,
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
        AuditEventType.INVITATION_REVOKED,
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


def organization_name(invitation: Invitation) -> str:
    """The name the invited person sees."""
    return invitation.organization.legal_name or "your organization"
