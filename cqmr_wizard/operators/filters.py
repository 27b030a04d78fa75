"""The dashboard's filters: what an operator may ask of the list of organizations, and the SQL
conditions each asks for, with the request's values as bound parameters (statements are built
once per filter shape, listing.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import Select, String, bindparam, exists, func, or_

from ..like import contains_pattern
from ..models import Organization
from ..models.base import utcnow
from ..models.progress import OrganizationProgress, OrganizationTaskStatus
from ..tasks import Status

OVERALL = "all"  # the pseudo-task "every required task"
PARTICIPATION_ENDED = "offboarded"
OFFBOARDING_REQUESTED = "offboarding_requested"
SORTS = {
    "name": "Name",
    "started": "Started",
    "activity": "Last activity",
    "members": "Members",
}
RESIGN_DUE, RESIGN_OVERDUE = "due", "overdue"


@dataclass(frozen=True)
class Filters:
    """What the operator asked for; every field already validated."""

    q: str = ""
    task: str = ""
    status: str = ""
    stalled_days: int | None = None
    participation: str = ""  # "", PARTICIPATION_ENDED or OFFBOARDING_REQUESTED
    resign: str = ""  # RESIGN_DUE or RESIGN_OVERDUE: a new agreement version to sign, by or past its date
    review_overdue: bool = False  # the yearly access review is past its due date
    sort: str = "name"
    descending: bool = False
    page: int = 1


PATTERN = bindparam("pattern", type_=String())
DIGITS = bindparam("digits", type_=String())
STALLED_BEFORE = bindparam("stalled_before")
NOW = bindparam("now")
STATUS = bindparam("status", type_=String())
TASK = bindparam("task", type_=String())


class Shape(NamedTuple):
    """Which conditions and order the filters ask for, whatever their values."""

    search: bool
    digits: bool
    stalled: bool
    resign: str  # "", RESIGN_DUE or RESIGN_OVERDUE
    review_overdue: bool
    status: str  # "", OVERALL or "task"
    participation: str
    sort: str
    descending: bool


def digits_of(filters: Filters) -> str:
    return re.sub(r"\D", "", filters.q.strip().lower())


def shape_of(filters: Filters) -> Shape:
    status = "" if not filters.status else OVERALL if filters.task in ("", OVERALL) else "task"
    return Shape(
        search=bool(filters.q.strip()),
        digits=len(digits_of(filters)) >= 2,
        stalled=filters.stalled_days is not None,
        resign=filters.resign,
        review_overdue=filters.review_overdue,
        status=status,
        participation=filters.participation,
        sort=filters.sort,
        descending=filters.descending,
    )


def params_of(filters: Filters) -> dict[str, object]:
    """The bound values of the filters' statements."""
    params: dict[str, object] = {
        "pattern": contains_pattern(filters.q.strip()),
        "digits": f"%{digits_of(filters)}%",
        "status": filters.status,
        "task": filters.task,
    }
    if filters.stalled_days is not None:
        params["stalled_before"] = utcnow() - timedelta(days=filters.stalled_days)
    if filters.resign or filters.review_overdue:
        params["now"] = utcnow()
    return params


def where(query: Select, shape: Shape) -> Select:
    if shape.search:
        conditions = [
            func.lower(Organization.legal_name).like(PATTERN, escape="\\"),
            func.lower(Organization.ohp_org_id).like(PATTERN, escape="\\"),
        ]
        if shape.digits:
            conditions.append(func.replace(Organization.tax_id, "-", "").like(DIGITS))
        query = query.where(or_(*conditions))
    if shape.stalled:
        query = query.where(
            OrganizationProgress.last_activity_at < STALLED_BEFORE,
            OrganizationProgress.overall != Status.COMPLETED.name,
        )
    if shape.participation == PARTICIPATION_ENDED:
        query = query.where(Organization.offboarded_at.is_not(None))
    elif shape.participation == OFFBOARDING_REQUESTED:
        query = query.where(
            Organization.offboarding_requested_at.is_not(None), Organization.offboarded_at.is_(None)
        )
    if shape.resign == RESIGN_DUE:
        query = query.where(OrganizationProgress.resign_by > NOW)
    elif shape.resign == RESIGN_OVERDUE:
        query = query.where(OrganizationProgress.resign_by <= NOW)
    if shape.review_overdue:
        query = query.where(OrganizationProgress.access_review_due_at < NOW)
    if shape.status == OVERALL:
        query = query.where(OrganizationProgress.overall == STATUS)
    elif shape.status:
        query = query.where(
            exists().where(
                OrganizationTaskStatus.organization_id == OrganizationProgress.organization_id,
                OrganizationTaskStatus.task_key == TASK,
                OrganizationTaskStatus.status == STATUS,
            )
        )
    return query
