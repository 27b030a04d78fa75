"""Team facts for the task list, in bulk: each organization's team counts and each person's place
in their organization, in a fixed number of queries whatever their number."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, case, distinct, func, select

from ..extensions import db
from ..models import Invitation, Membership, MembershipRole, User
from ..models.base import utcnow

TEAM_ZERO = {"members": 0, "admins": 0, "signers": 0, "invitations": 0, "pending_invitations": 0}


@dataclass(frozen=True)
class PersonFacts:
    """A person's account and their place in an organization, if they have one."""

    user_id: int
    full_name: str
    email_verified: bool
    deactivated: bool
    organization_id: int | None = None
    membership_id: int | None = None
    roles: frozenset[str] = frozenset()


def team_counts(organization_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """Active members, administrators and signers; invitations in all and still open; two queries."""

    def holders(role: str):
        return func.count(distinct(case((MembershipRole.role == role, Membership.id))))

    counts = {org_id: dict(TEAM_ZERO) for org_id in organization_ids}
    if not counts:
        return counts
    for org_id, total, admins, signers in db.session.execute(
        select(
            Membership.organization_id,
            func.count(distinct(Membership.id)),
            holders("admin"),
            holders("signer"),
        )
        .join(User, User.id == Membership.user_id)
        .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(User.deactivated_at.is_(None), Membership.organization_id.in_(organization_ids))
        .group_by(Membership.organization_id)
    ):
        counts[org_id].update(members=total, admins=admins, signers=signers)
    pending = and_(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()
    )
    for org_id, total, still_open in db.session.execute(
        select(
            Invitation.organization_id, func.count(Invitation.id), func.count(case((pending, Invitation.id)))
        )
        .where(Invitation.organization_id.in_(organization_ids))
        .group_by(Invitation.organization_id)
    ):
        counts[org_id].update(invitations=total, pending_invitations=still_open)
    return counts


def person_facts(user_ids: Collection[int]) -> dict[int, PersonFacts]:
    """Each existing person's account facts and membership with its roles, in one query."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(
            User.id,
            User.full_name,
            User.email_verified_at.is_not(None),
            User.deactivated_at.is_not(None),
            Membership.organization_id,
            Membership.id,
            MembershipRole.role,
        )
        .outerjoin(Membership, Membership.user_id == User.id)
        .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(User.id.in_(user_ids))
    ).tuples()
    people: dict[int, PersonFacts] = {}
    for user_id, name, verified, deactivated, org_id, membership_id, role in rows:
        known = people.get(user_id)
        roles = (known.roles if known else frozenset()) | ({role} if role else set())
        people[user_id] = PersonFacts(
            user_id, name, bool(verified), bool(deactivated), org_id, membership_id, roles
        )
    return people
