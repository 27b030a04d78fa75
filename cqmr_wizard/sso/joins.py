"""Joining an organization that is already registered under the same OneHealthPort
organization: the request, and its administrator's decision."""

from __future__ import annotations

from sqlalchemy import func, select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import external_url, send_mail
from ..members import active_members_with_role
from ..models import Invitation, JoinRequest, Membership, MembershipRole, Organization, User
from ..models.base import utcnow
from ..models.organizations import ROLES
from ..models.sso import JOIN_APPROVED, JOIN_DECLINED, JOIN_PENDING
from .services import Refused

# The session remembers which organization a verified OneHealthPort sign-in pointed at, so the
# person can only ask to join the organization their OneHealthPort account belongs to.
CANDIDATE_KEY = "ohp_join_candidate"


def organization_name(org: Organization) -> str:
    return org.legal_name or org.ohp_org_name or "an organization"


def latest_request(user_id: int) -> JoinRequest | None:
    return db.session.scalar(
        select(JoinRequest).where(JoinRequest.user_id == user_id).order_by(JoinRequest.id.desc()).limit(1)
    )


def pending_requests(organization_id: int) -> list[JoinRequest]:
    return list(
        db.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.organization_id == organization_id, JoinRequest.status == JOIN_PENDING)
            .order_by(JoinRequest.id)
        )
    )


def pending_count(organization_id: int) -> int:
    """How many requests to join the organization wait for an administrator's decision."""
    return db.session.scalar(
        select(func.count(JoinRequest.id)).where(
            JoinRequest.organization_id == organization_id, JoinRequest.status == JOIN_PENDING
        )
    )


def member_count(organization_id: int) -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(Membership.organization_id == organization_id)
    )


def open_invitations(organization_id: int) -> int:
    return db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.organization_id == organization_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )


def can_set_aside(membership: Membership | None) -> bool:
    """A draft may be set aside by its only member, while it is not connected to OneHealthPort
    and nobody is invited to it (an invitee would otherwise join an abandoned record)."""
    return (
        membership is not None
        and membership.has_role("admin")
        and not membership.organization.ohp_org_id
        and member_count(membership.organization_id) == 1
        and open_invitations(membership.organization_id) == 0
    )


def _admins(organization_id: int) -> list[User]:
    return active_members_with_role(organization_id, "admin")


def request_to_join(user: User, membership: Membership | None, org: Organization) -> JoinRequest:
    """Ask to join `org`; a draft record of the person's own is set aside first (kept, unchanged,
    for the audit trail). Mails the organization's administrators."""
    pending = latest_request(user.id)
    if pending is not None and pending.pending:
        return pending
    if membership is not None:
        if membership.organization_id == org.id:
            raise Refused("already_member", 409, "You are already a member of this organization.")
        if not can_set_aside(membership):
            raise Refused(
                "draft_has_members",
                409,
                "Your own organization record has other members or open invitations, so "
                "it cannot be set aside. Revoke the invitations, or ask the CQMR team to "
                "help combine the two records.",
            )
        draft_id = membership.organization_id
        audit.record(
            AuditEventType.ORGANIZATION_DRAFT_SET_ASIDE,
            actor_id=user.id,
            organization_id=draft_id,
            subject_user_id=user.id,
            details={"joining": org.id},
        )
        db.session.delete(membership)
        db.session.flush()
    join = JoinRequest(user_id=user.id, organization_id=org.id, ohp_org_id=org.ohp_org_id)
    db.session.add(join)
    db.session.flush()
    audit.record(
        AuditEventType.JOIN_REQUESTED,
        actor_id=user.id,
        organization_id=org.id,
        subject_user_id=user.id,
        details={"join_request": join.id, "ohp_org_id": org.ohp_org_id},
    )
    link = external_url("sso.decide_join", request_id=join.id)
    for admin in _admins(org.id):
        send_mail(
            admin.email,
            f"{user.full_name} asks to join {organization_name(org)} in CQMR onboarding",
            "join_requested",
            admin=admin,
            requester=user,
            org=org,
            link=link,
        )
    db.session.commit()
    return join


def load_for_decision(organization_id: int, request_id: int) -> JoinRequest | None:
    """The request, locked for the decision, if it belongs to this organization."""
    return db.session.scalar(
        select(JoinRequest)
        .where(JoinRequest.id == request_id, JoinRequest.organization_id == organization_id)
        .with_for_update()
    )


def _check_pending(join: JoinRequest) -> None:
    if not join.pending:
        raise Refused("already_decided", 409, f"This request was already {join.status}.")


def approve(actor: User, join: JoinRequest, role: str) -> Membership:
    """Make the requester a member with `role`, and tell them."""
    _check_pending(join)
    if role not in ROLES:
        raise Refused("unknown_role", 400, "Choose a role")
    if db.session.scalar(select(Membership.id).where(Membership.user_id == join.user_id)):
        raise Refused(
            "requester_has_organization",
            409,
            "This person has joined another organization since asking, so the request "
            "cannot be approved. Decline it instead.",
        )
    member = Membership(organization_id=join.organization_id, user_id=join.user_id)
    member.role_rows.append(MembershipRole(role=role))
    db.session.add(member)
    join.status = JOIN_APPROVED
    join.role = role
    join.decided_at = utcnow()
    join.decided_by_id = actor.id
    audit.record(
        AuditEventType.JOIN_APPROVED,
        actor_id=actor.id,
        organization_id=join.organization_id,
        subject_user_id=join.user_id,
        details={"join_request": join.id, "role": role},
    )
    send_mail(
        join.user.email,
        f"You have joined {organization_name(join.organization)} in CQMR onboarding",
        "join_approved",
        user=join.user,
        org=join.organization,
        role=ROLES[role][0],
        link=external_url("main.tasks"),
    )
    db.session.commit()
    return member


def decline(actor: User, join: JoinRequest) -> None:
    """Refuse the request, and tell the requester."""
    _check_pending(join)
    join.status = JOIN_DECLINED
    join.decided_at = utcnow()
    join.decided_by_id = actor.id
    audit.record(
        AuditEventType.JOIN_DECLINED,
        actor_id=actor.id,
        organization_id=join.organization_id,
        subject_user_id=join.user_id,
        details={"join_request": join.id},
    )
    send_mail(
        join.user.email,
        f"Your request to join {organization_name(join.organization)} was declined",
        "join_declined",
        user=join.user,
        org=join.organization,
    )
    db.session.commit()
