"""Organization onboarding rules: eligibility, creating the record, saving each answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Membership, MembershipRole, Organization, User
from ..models.base import utcnow


class NotEligible(Exception):
    """The organization is neither a covered entity nor a business associate."""


def answer_eligibility(user: User, membership: Membership | None, answer: str) -> Organization:
    """Save the eligibility answer, creating the organization (with its creator as
    administrator) on the first eligible answer. "neither" changes nothing."""
    if answer == "neither":
        raise NotEligible()
    if membership is not None:
        org = membership.organization
        if org.eligibility != answer:
            old = org.eligibility
            org.eligibility = answer
            audit.record(
                AuditEventType.ONBOARDING_ANSWER_SAVED,
                actor_id=user.id,
                organization_id=org.id,
                details={"task": "eligibility", "field": "eligibility", "old": old, "new": answer},
            )
            db.session.commit()
        return org
    try:
        return _create_organization(user, answer)
    except IntegrityError:
        # A second request (a double click) created it first: answer on that one.
        db.session.rollback()
        existing = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        if existing is None:
            raise
        return answer_eligibility(user, existing, answer)


def _create_organization(user: User, answer: str) -> Organization:
    org = Organization(eligibility=answer, created_by_id=user.id)
    db.session.add(org)
    db.session.flush()
    member = Membership(organization_id=org.id, user_id=user.id)
    member.role_rows.append(MembershipRole(role="admin"))
    db.session.add(member)
    db.session.flush()
    audit.record(
        AuditEventType.ORGANIZATION_CREATED,
        actor_id=user.id,
        organization_id=org.id,
        details={"eligibility": answer},
    )
    audit.record(
        AuditEventType.ONBOARDING_ANSWER_SAVED,
        actor_id=user.id,
        organization_id=org.id,
        details={"task": "eligibility", "field": "eligibility", "old": None, "new": answer},
    )
    db.session.commit()
    return org


def save_answers(user: User, org: Organization, answers: dict[str, Any]) -> bool:
    """Store a page's answers; return True if anything changed. A change after the
    details were confirmed asks for confirmation again."""
    changes = {}
    for name, value in answers.items():
        if isinstance(value, str):
            value = value.strip() or None
        old = getattr(org, name)
        if old != value:
            changes[name] = {"old": old, "new": value}
            setattr(org, name, value)
    if not changes:
        return False
    if org.details_confirmed_at is not None:
        org.details_confirmed_at = None
    audit.record(
        AuditEventType.ONBOARDING_ANSWER_SAVED,
        actor_id=user.id,
        organization_id=org.id,
        details={"task": "details", "changes": changes},
    )
    db.session.commit()
    return True


def confirm_details(user: User, org: Organization) -> None:
    """Record that the administrator checked the details."""
    org.details_confirmed_at = utcnow()
    audit.record(AuditEventType.ONBOARDING_DETAILS_CONFIRMED, actor_id=user.id, organization_id=org.id)
    db.session.commit()
