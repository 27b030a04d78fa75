"""When each live organization's yearly access review is due, and whether an overdue one closes
the gate: from its last completed review (or when it went live) and the ACCESS_REVIEW_* settings,
for many organizations in one query; the single case is a bulk of one."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import AccessReview, Organization
from ..models.base import utcnow


def last_reviews(organization_ids: Collection[int]) -> dict[int, datetime]:
    """When each organization last completed an access review (those that ever did)."""
    if not organization_ids:
        return {}
    return dict(
        db.session.execute(
            select(AccessReview.organization_id, func.max(AccessReview.completed_at))
            .where(AccessReview.organization_id.in_(organization_ids))
            .group_by(AccessReview.organization_id)
        ).all()
    )


def due_at(went_live_at: datetime | None, last_review: datetime | None) -> datetime | None:
    """The next review's due date: an interval after the last one, or after going live; none
    while the organization onboards (only live organizations are reviewed)."""
    if went_live_at is None:
        return None
    return (last_review or went_live_at) + current_app.config["ACCESS_REVIEW_INTERVAL"]


def enforced_from(due: datetime | None) -> datetime | None:
    """When an overdue review closes the gate: the grace period after the due date, and only
    with ACCESS_REVIEW_ENFORCE on."""
    if due is None or not current_app.config["ACCESS_REVIEW_ENFORCE"]:
        return None
    return due + current_app.config["ACCESS_REVIEW_GRACE"]


def due_dates(orgs: Sequence[Organization]) -> dict[int, datetime | None]:
    """Each organization's next review due date (None while onboarding, and once its
    participation ended), in one query at most."""
    reviewed = [org for org in orgs if org.went_live_at is not None and org.offboarded_at is None]
    last = last_reviews([org.id for org in reviewed])
    due = dict.fromkeys((org.id for org in orgs), None)
    due.update({org.id: due_at(org.went_live_at, last.get(org.id)) for org in reviewed})
    return due


def enforced_overdue(orgs: Sequence[Organization]) -> dict[int, bool]:
    """Whether each organization's overdue review closes its gate now. With enforcement off this
    is never so, and nothing is read."""
    if not current_app.config["ACCESS_REVIEW_ENFORCE"]:
        return {}
    now = utcnow()
    return {
        org_id: (closes := enforced_from(due)) is not None and closes <= now
        for org_id, due in due_dates(orgs).items()
    }


def reminder_days() -> list[int]:
    """ACCESS_REVIEW_REMINDER_DAYS as whole days before the due date, latest reminder last."""
    setting = current_app.config["ACCESS_REVIEW_REMINDER_DAYS"]
    parts = setting.split(",") if isinstance(setting, str) else setting
    return sorted({int(part) for part in parts if str(part).strip()}, reverse=True)
