"""Team rules: scoped look-ups, role changes, deactivation, and the last-administrator rule."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from flask import current_app
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Invitation, Membership, MembershipRole, Organization, User
from ..models.base import utcnow
from ..models.organizations import ROLES
from ..refusals import Refusal


class TeamError(Refusal):
    """A team rule refused the change."""


def role_names(roles: Iterable[str]) -> list[str]:
    """The display names of role keys, in the fixed order of `ROLES`."""
    held = set(roles)
    return [name for key, (name, _) in ROLES.items() if key in held]


def ordered_roles(roles: Iterable[str]) -> list[str]:
    """Role keys in the fixed order of `ROLES`."""
    held = set(roles)
    return [key for key in ROLES if key in held]


def lock_organization(organization_id: int) -> None:
    """Serialise team changes within one organization (a row lock on PostgreSQL; SQLite
    takes its single write lock at the first write), so two administrators cannot both
    remove the other's administrator role."""
    db.session.execute(select(Organization.id).where(Organization.id == organization_id).with_for_update())


@cache
def _member_statement() -> Select:
    """Built once: every member page and action runs it."""
    return (
        select(Membership)
        .options(joinedload(Membership.user), joinedload(Membership.role_rows))
        .where(
            Membership.id == bindparam("member_id"),
            Membership.organization_id == bindparam("organization_id"),
        )
    )


def get_member(organization_id: int, member_id: int) -> Membership | None:
    """The membership with this id in this organization only, with its person and roles (one
    statement: every member page shows both)."""
    return db.session.scalar(
        _member_statement(), {"member_id": member_id, "organization_id": organization_id}
    )


def get_invitation(organization_id: int, invitation_id: int) -> Invitation | None:
    """The invitation with this id in this organization only."""
    return db.session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.organization_id == organization_id
        )
    )


def active_admin_count(organization_id: int) -> int:
    """How many members hold the administrator role and are not deactivated."""
    return (
        db.session.scalar(
            select(func.count(MembershipRole.id))
            .join(Membership, Membership.id == MembershipRole.membership_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.organization_id == organization_id,
                MembershipRole.role == "admin",
                User.deactivated_at.is_(None),
            )
        )
        or 0
    )


def _refuse_if_last_admin(member: Membership, action: str) -> None:
    if (
        member.has_role("admin")
        and member.user.deactivated_at is None
        and active_admin_count(member.organization_id) <= 1
    ):
        raise TeamError(
            f"You cannot {action}: {member.user.full_name} is the organization's only "
            "administrator, and an organization must always have at least one. "
            "Make another member an administrator first.",
            "roles",
        )


def change_roles(actor: User, member: Membership, roles: Iterable[str]) -> bool:
    """Give the member exactly `roles`; return True if anything changed."""
    changed = apply_roles(actor, member, roles)
    if changed:
        db.session.commit()
    return changed


def apply_roles(actor: User, member: Membership, roles: Iterable[str]) -> bool:
    """`change_roles` within the caller's transaction (the caller commits); True if changed."""
    new = set(roles)
    if not new:
        raise TeamError("Select at least one role", "roles")
    if not new <= ROLES.keys():
        raise TeamError("Select roles from the list", "roles")
    lock_organization(member.organization_id)
    db.session.refresh(member)
    old = member.roles
    if old == new:
        return False
    if "admin" in old and "admin" not in new:
        _refuse_if_last_admin(member, "remove the administrator role")
    for row in list(member.role_rows):
        if row.role not in new:
            member.role_rows.remove(row)
    for role in ordered_roles(new - old):
        member.role_rows.append(MembershipRole(role=role))
    audit.record(
        AuditEventType.MEMBERSHIP_ROLES_CHANGED,
        actor_id=actor.id,
        organization_id=member.organization_id,
        subject_user_id=member.user_id,
        details={"membership_id": member.id, "old": ordered_roles(old), "new": ordered_roles(new)},
    )
    return True


def deactivate(actor: User, member: Membership) -> int:
    """Deactivate the member's account and end every session of theirs at once; return how
    many sessions ended."""
    apply_deactivation(actor, member)
    db.session.commit()
    return end_sessions(actor, member)


def apply_deactivation(actor: User, member: Membership) -> None:
    """Deactivate the member within the caller's transaction; after it commits, the caller
    ends their sessions (`end_sessions`)."""
    if member.user_id == actor.id:
        raise TeamError("You cannot deactivate your own account. Ask another administrator.")
    lock_organization(member.organization_id)
    user = member.user
    db.session.refresh(user)
    if user.deactivated_at is not None:
        raise TeamError(f"{user.full_name} is already deactivated.")
    _refuse_if_last_admin(member, "deactivate this member")
    user.deactivated_at = utcnow()
    audit.record(
        AuditEventType.MEMBERSHIP_DEACTIVATED,
        actor_id=actor.id,
        organization_id=member.organization_id,
        subject_user_id=user.id,
        details={
            "membership_id": member.id,
            "old": "active",
            "new": "deactivated",
            "deactivated_at": user.deactivated_at,
        },
    )


def end_sessions(actor: User, member: Membership) -> int:
    """End every session of a member deactivated by a committed change, audited; how many."""
    user = member.user
    # After the commit: the session store writes on a connection of its own.
    ended = current_app.session_interface.store.delete_for_user(user.id)
    audit.record(
        AuditEventType.AUTH_SESSIONS_ENDED,
        actor_id=actor.id,
        organization_id=member.organization_id,
        subject_user_id=user.id,
        details={"reason": "deactivated", "sessions_ended": ended},
    )
    db.session.commit()
    return ended


def reactivate(actor: User, member: Membership) -> None:
    """Let a deactivated member sign in again."""
    lock_organization(member.organization_id)
    user = member.user
    db.session.refresh(user)
    if user.deactivated_at is None:
        raise TeamError(f"{user.full_name} is already active.")
    old = user.deactivated_at
    user.deactivated_at = None
    audit.record(
        AuditEventType.MEMBERSHIP_REACTIVATED,
        actor_id=actor.id,
        organization_id=member.organization_id,
        subject_user_id=user.id,
        details={
            "membership_id": member.id,
            "old": "deactivated",
            "new": "active",
            "was_deactivated_at": old,
        },
    )
    db.session.commit()
