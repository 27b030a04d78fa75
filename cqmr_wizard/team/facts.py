"""Team facts for the task list, in two queries whatever the organization's size."""

from __future__ import annotations

from sqlalchemy import and_, case, distinct, func, select

from ..extensions import db
from ..models import Invitation, Membership, MembershipRole, User
from ..models.base import utcnow


def team_counts(organization_id: int) -> dict[str, int]:
    """Active members, administrators and signers; invitations in all and still open."""

    def holders(role: str):
        return func.count(distinct(case((MembershipRole.role == role, Membership.id))))

    members, admins, signers = db.session.execute(
        select(func.count(distinct(Membership.id)), holders("admin"), holders("signer"))
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(Membership.organization_id == organization_id, User.deactivated_at.is_(None))
    ).one()
    pending = and_(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()
    )
    invitations, open_invitations = db.session.execute(
        select(func.count(Invitation.id), func.count(case((pending, Invitation.id)))).where(
            Invitation.organization_id == organization_id
        )
    ).one()
    return {
        "members": members or 0,
        "admins": admins or 0,
        "signers": signers or 0,
        "invitations": invitations or 0,
        "pending_invitations": open_invitations or 0,
    }
