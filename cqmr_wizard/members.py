"""Queries about who holds a role in an organization, shared by every area that needs them."""

from __future__ import annotations

from sqlalchemy import Select, select

from .extensions import db
from .models import Membership, MembershipRole, User


def _with_role(organization_id: int, role: str) -> Select:
    return (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(
            Membership.organization_id == organization_id,
            MembershipRole.role == role,
            User.deactivated_at.is_(None),
        )
    )


def active_members_with_role(organization_id: int, role: str) -> list[User]:
    """The organization's active (not deactivated) members holding `role`, by name."""
    return list(db.session.scalars(_with_role(organization_id, role).order_by(User.full_name, User.id)))
