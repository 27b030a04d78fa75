"""Every access review of an organization as CSV rows, for an auditor: one row per member per
review, with who reviewed, when, and what was decided for them."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AccessReview, User
from ..models.organizations import ROLES

HEADER = [
    "Review",
    "Completed",
    "Reviewer",
    "Reviewer email",
    "Member",
    "Member email",
    "Decision",
    "Roles before",
    "Roles after",
]
DECISIONS = (("kept", "Kept"), ("roles_changed", "Roles changed"), ("removed", "Removed"))


def _names(keys: list[str]) -> str:
    return "; ".join(ROLES[key][0] if key in ROLES else key for key in keys)


def review_count(organization_id: int) -> int:
    """How many reviews the organization has completed."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AccessReview)
            .where(AccessReview.organization_id == organization_id)
        )
        or 0
    )


def export_rows(organization_id: int) -> Iterator[list[object]]:
    """The CSV's rows, oldest review first (one statement)."""
    reviews = db.session.execute(
        select(AccessReview, User.full_name, User.email)
        .join(User, User.id == AccessReview.reviewer_id)
        .where(AccessReview.organization_id == organization_id)
        .order_by(AccessReview.completed_at, AccessReview.id)
    ).tuples()
    for review, reviewer, reviewer_email in reviews:
        changed = review.changed
        for key, decision in DECISIONS:
            for person in changed.get(key, []):
                before = person.get("from", person.get("roles", []))
                after = [] if key == "removed" else person.get("to", person.get("roles", []))
                yield [
                    review.id,
                    review.completed_at,
                    reviewer,
                    reviewer_email,
                    person["name"],
                    person["email"],
                    decision,
                    _names(before),
                    _names(after),
                ]


def record_download(actor: User, organization_id: int) -> None:
    """Audit an administrator's download of their organization's reviews."""
    audit.record(
        AuditEventType.ACCESS_REVIEW_EXPORTED,
        actor_id=actor.id,
        organization_id=organization_id,
        details={"reviews": review_count(organization_id)},
    )
    db.session.commit()
