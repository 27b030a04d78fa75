"""The yearly access review: an administrator confirms, member by member, who keeps CQMR access
and with which roles. Role changes and removals go through the team's own rules (the
last-administrator rule, audit), all in one transaction with the review's record, so a review
is done whole or not at all; removed people are deprovisioned at that commit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, func, select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AccessReview, AuditEvent, Membership, MembershipRole, Organization, User
from ..models.organizations import ROLES
from .services import (
    TeamError,
    apply_deactivation,
    apply_roles,
    end_sessions,
    get_member,
    lock_organization,
    ordered_roles,
)

KEEP, CHANGE, REMOVE = "keep", "roles", "remove"
ACTIONS = {KEEP: "Keep", CHANGE: "Change roles", REMOVE: "Remove access"}


@dataclass(frozen=True)
class ReviewRow:
    """One active member as the review page shows them."""

    membership_id: int
    user_id: int
    name: str
    email: str
    roles: list[str]
    last_sign_in: datetime | None
    last_cqmr_entry: datetime | None


@dataclass(frozen=True)
class Decision:
    """What the administrator chose for one member: keep, change roles (to `roles`) or remove."""

    action: str
    roles: frozenset[str] = frozenset()


class ReviewError(TeamError):
    """The review was refused; `problems` maps a member's field id to what is wrong there."""

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


@cache
def _members_statement() -> Select:
    """Built once: the page's active members with their sign-in time, newest CQMR entry first."""
    entry = (
        select(AuditEvent.subject_user_id, func.max(AuditEvent.occurred_at).label("entered_at"))
        .where(
            AuditEvent.organization_id == bindparam("organization_id"),
            AuditEvent.event_type == AuditEventType.GATE_REDIRECTED.value,
        )
        .group_by(AuditEvent.subject_user_id)
        .subquery()
    )
    return (
        select(Membership.id, User.id, User.full_name, User.email, User.last_sign_in_at, entry.c.entered_at)
        .join(User, User.id == Membership.user_id)
        .outerjoin(entry, entry.c.subject_user_id == User.id)
        .where(Membership.organization_id == bindparam("organization_id"), User.deactivated_at.is_(None))
        .order_by(func.lower(User.full_name), User.id)
    )


@cache
def _roles_statement() -> Select:
    return (
        select(MembershipRole.membership_id, MembershipRole.role)
        .join(Membership, Membership.id == MembershipRole.membership_id)
        .where(Membership.organization_id == bindparam("organization_id"))
    )


def review_rows(organization_id: int) -> list[ReviewRow]:
    """Every active member with their roles, last sign-in and last entry into the CQMR (the
    newest time the gate sent them on), in two statements whatever the team's size."""
    params = {"organization_id": organization_id}
    roles: dict[int, set[str]] = {}
    for membership_id, role in db.session.execute(_roles_statement(), params).tuples():
        roles.setdefault(membership_id, set()).add(role)
    return [
        ReviewRow(
            membership_id,
            user_id,
            name,
            email,
            ordered_roles(roles.get(membership_id, ())),
            signed_in,
            entered,
        )
        for membership_id, user_id, name, email, signed_in, entered in db.session.execute(
            _members_statement(), params
        ).tuples()
    ]


def last_review(organization_id: int) -> AccessReview | None:
    """The organization's most recent completed review."""
    return db.session.scalar(
        select(AccessReview)
        .where(AccessReview.organization_id == organization_id)
        .order_by(AccessReview.completed_at.desc(), AccessReview.id.desc())
        .limit(1)
    )


@dataclass
class _Outcome:
    kept: list[dict] = field(default_factory=list)
    roles_changed: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)


def _person(row: ReviewRow) -> dict:
    return {"user_id": row.user_id, "name": row.name, "email": row.email}


def _check(rows: list[ReviewRow], decisions: dict[int, Decision]) -> None:
    """Refuse a review that does not decide for exactly the members listed now, or asks for
    roles that cannot be given."""
    listed = {row.membership_id for row in rows}
    if set(decisions) != listed:
        raise ReviewError("The team changed while you were reviewing it. Check the list again and confirm.")
    problems = {}
    for row in rows:
        decision = decisions[row.membership_id]
        if decision.action not in ACTIONS:
            problems[f"action-{row.membership_id}-0"] = f"Choose what happens to {row.name}'s access"
        elif decision.action == CHANGE and not decision.roles:
            problems[f"roles-{row.membership_id}-0"] = f"Select at least one role for {row.name}"
        elif decision.action == CHANGE and not decision.roles <= ROLES.keys():
            problems[f"roles-{row.membership_id}-0"] = f"Choose {row.name}'s roles from the list"
    if problems:
        raise ReviewError("There is a problem", problems)


def confirm_review(actor: User, organization: Organization, decisions: dict[int, Decision]) -> AccessReview:
    """Apply every decision and record the review, in one transaction; then end the sessions of
    those removed. Refuses (changing nothing) when a team rule refuses any one decision."""
    if organization.went_live_at is None:
        raise ReviewError(
            "Your organization is still onboarding: its first access review is due a year after it goes live."
        )
    lock_organization(organization.id)
    rows = review_rows(organization.id)
    _check(rows, decisions)
    outcome, removed = _Outcome(), []
    try:
        for row in rows:
            decision = decisions[row.membership_id]
            member = get_member(organization.id, row.membership_id)
            if decision.action == REMOVE:
                apply_deactivation(actor, member)
                outcome.removed.append({**_person(row), "roles": row.roles})
                removed.append(member)
            elif decision.action == CHANGE and apply_roles(actor, member, decision.roles):
                to = ordered_roles(decision.roles)
                outcome.roles_changed.append({**_person(row), "from": row.roles, "to": to})
            else:
                outcome.kept.append({**_person(row), "roles": row.roles})
            db.session.flush()  # the next member's last-administrator check counts this one
    except TeamError as error:
        db.session.rollback()
        raise ReviewError(error.message) from error
    review = AccessReview(
        organization_id=organization.id,
        reviewer_id=actor.id,
        changes=json.dumps(
            {"kept": outcome.kept, "roles_changed": outcome.roles_changed, "removed": outcome.removed}
        ),
    )
    db.session.add(review)
    db.session.flush()
    audit.record(
        AuditEventType.ACCESS_REVIEW_COMPLETED,
        actor_id=actor.id,
        organization_id=organization.id,
        details={
            "review_id": review.id,
            "kept": len(outcome.kept),
            "roles_changed": len(outcome.roles_changed),
            "removed": [person["user_id"] for person in outcome.removed],
        },
    )
    db.session.commit()
    for member in removed:
        end_sessions(actor, member)
    return review
