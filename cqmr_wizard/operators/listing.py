"""The dashboard's list of organizations: searched, filtered, sorted, counted and paginated in
SQL over the progress projection (tasks/projection.py), in three statements whatever the number of
organizations; the CSV export streams the same query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import Integer, Select, String, bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..like import contains_pattern
from ..models import Organization
from ..models.base import utcnow
from ..models.progress import OrganizationProgress, OrganizationTaskStatus
from ..tasks import Status, TaskState
from ..tasks.expected import ORGANIZATION_TASKS, organization_states, overall_status

__all__ = ["ORGANIZATION_TASKS", "organization_states", "overall_status"]

OVERALL = "all"  # the pseudo-task "every required task"
PARTICIPATION_ENDED = "offboarded"
OFFBOARDING_REQUESTED = "offboarding_requested"
SORTS = {
    "name": "Name",
    "started": "Started",
    "activity": "Last activity",
    "members": "Members",
}
EXPORT_BATCH = 500
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


class OrganizationSummary(NamedTuple):
    """What the dashboard shows of an organization itself (columns, not the ORM entity)."""

    id: int
    legal_name: str | None
    eligibility: str | None
    tax_id: str | None
    ohp_org_id: str | None
    suspended_at: datetime | None
    created_at: datetime
    offboarded_at: datetime | None
    offboarding_requested_at: datetime | None


SUMMARY_COLUMNS = tuple(getattr(Organization, name) for name in OrganizationSummary._fields)


@dataclass(frozen=True)
class Row:
    """One organization as the dashboard shows it."""

    organization: OrganizationSummary
    states: list[TaskState]
    overall: Status
    members: int
    ready: int
    last_activity: datetime
    completed_at: datetime | None
    resign_by: datetime | None = None  # the date to sign a new agreement version by, if one is
    access_review_due_at: datetime | None = None

    @property
    def statuses(self) -> tuple[Status, ...]:
        """Each task's status: rows that share them share the page's rendering of the list."""
        return tuple(state.status for state in self.states)


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    total: int
    page: int
    pages: int


# The request's values are bound parameters: each shape of the list's statements (which filters
# are used, the sort) is built once per process, not on every view of the dashboard.
PATTERN = bindparam("pattern", type_=String())
DIGITS = bindparam("digits", type_=String())
STALLED_BEFORE = bindparam("stalled_before")
NOW = bindparam("now")
STATUS = bindparam("status", type_=String())
TASK = bindparam("task", type_=String())
LIMIT = bindparam("limit", type_=Integer())
OFFSET = bindparam("offset", type_=Integer())


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


def _digits(filters: Filters) -> str:
    return re.sub(r"\D", "", filters.q.strip().lower())


def _shape(filters: Filters) -> Shape:
    status = "" if not filters.status else OVERALL if filters.task in ("", OVERALL) else "task"
    return Shape(
        search=bool(filters.q.strip()),
        digits=len(_digits(filters)) >= 2,
        stalled=filters.stalled_days is not None,
        resign=filters.resign,
        review_overdue=filters.review_overdue,
        status=status,
        participation=filters.participation,
        sort=filters.sort,
        descending=filters.descending,
    )


def _params(filters: Filters) -> dict[str, object]:
    """The bound values of the filters' statements."""
    params: dict[str, object] = {
        "pattern": contains_pattern(filters.q.strip()),
        "digits": f"%{_digits(filters)}%",
        "status": filters.status,
        "task": filters.task,
    }
    if filters.stalled_days is not None:
        params["stalled_before"] = utcnow() - timedelta(days=filters.stalled_days)
    if filters.resign or filters.review_overdue:
        params["now"] = utcnow()
    return params


def _where(query: Select, shape: Shape) -> Select:
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


def _order(query: Select, shape: Shape) -> Select:
    column = {
        "name": OrganizationProgress.sort_name,
        "started": OrganizationProgress.started_at,
        "activity": OrganizationProgress.last_activity_at,
        "members": OrganizationProgress.members,
    }[shape.sort]
    key = column.desc() if shape.descending else column.asc()
    if shape.sort == "name":
        key = key.nulls_last()  # unnamed ones last either way; ascending, the index's own order
    return query.order_by(key, OrganizationProgress.organization_id)


def _status_lookups() -> list:
    """One status column per organization task (the projection pivoted) for a page: each a
    lookup by primary key, evaluated for the page's rows only and cheap to plan, where six
    outer joins of one table made the planner weigh every join order on each request."""
    return [
        select(OrganizationTaskStatus.status)
        .where(
            OrganizationTaskStatus.organization_id == Organization.id,
            OrganizationTaskStatus.task_key == task.key,
        )
        .correlate(Organization)
        .scalar_subquery()
        .label(f"status_{task.key}")
        for task in ORGANIZATION_TASKS
    ]


def _status_joins() -> list[tuple]:
    """The same columns for every organization (the export): outer joins, which PostgreSQL
    reads in one pass each, where a lookup per row and column would come before the first row."""
    joins = []
    for task in ORGANIZATION_TASKS:
        alias = aliased(OrganizationTaskStatus, name=f"status_{task.key}")
        joins.append((alias, (alias.organization_id == Organization.id) & (alias.task_key == task.key)))
    return joins


PROGRESS = (
    OrganizationProgress.overall,
    OrganizationProgress.members,
    OrganizationProgress.members_ready,
    OrganizationProgress.last_activity_at,
    OrganizationProgress.completed_at,
    OrganizationProgress.resign_by,
    OrganizationProgress.access_review_due_at,
)


def _listing(shape: Shape, columns: tuple, every_row: bool) -> Select:
    """The SQL of the list: the given columns, each task's status, then the PROGRESS columns;
    `every_row` for reading them all rather than a page."""
    if every_row:
        joins = _status_joins()
        query = select(*columns, *(alias.status for alias, _ in joins), *PROGRESS)
    else:
        joins = []
        query = select(*columns, *_status_lookups(), *PROGRESS)
    query = query.join(OrganizationProgress, OrganizationProgress.organization_id == Organization.id)
    for alias, on in joins:
        query = query.outerjoin(alias, on)
    return _order(_where(query, shape), shape)


def listing_query(filters: Filters, *columns, every_row: bool = False) -> Select:
    """`_listing` for these filters, their values bound (the export and the reminders)."""
    return _listing(_shape(filters), columns, every_row).params(_params(filters))


@cache
def _page_statement(shape: Shape) -> Select:
    return _listing(shape, SUMMARY_COLUMNS, every_row=False).limit(LIMIT).offset(OFFSET)


@cache
def _count_statement(shape: Shape) -> Select:
    query = select(func.count()).select_from(OrganizationProgress)
    if shape.search or shape.participation:  # only these read the organization itself
        query = query.join(Organization, Organization.id == OrganizationProgress.organization_id)
    return _where(query, shape)


def split(result: tuple, columns: int) -> tuple[tuple, list[TaskState], Status, tuple]:
    """A result of `listing_query` as (the given columns, task states, overall, the rest)."""
    n = len(ORGANIZATION_TASKS)
    states = [
        TaskState(task, Status[name] if name else Status.NOT_STARTED, False)
        for task, name in zip(ORGANIZATION_TASKS, result[columns : columns + n], strict=True)
    ]
    overall, *rest = result[columns + n :]
    return tuple(result[:columns]), states, Status[overall], tuple(rest)


def _count_shape(filters: Filters) -> Shape:
    return _shape(filters)._replace(sort="name", descending=False)  # the count has no order


def count(filters: Filters) -> int:
    """How many organizations the filters leave."""
    return db.session.scalar(_count_statement(_count_shape(filters)), _params(filters)) or 0


def list_organizations(filters: Filters, page_size: int) -> Listing:
    """One page of organizations, with the total the filters leave (three statements)."""
    total = count(filters)
    params = _params(filters)
    params.update(limit=page_size, offset=(filters.page - 1) * page_size)
    results = db.session.execute(_page_statement(_shape(filters)), params).all()
    columns = len(SUMMARY_COLUMNS)
    rows = []
    for result in results:
        summary, states, overall, progress = split(result, columns)
        rows.append(Row(OrganizationSummary(*summary), states, overall, *progress))
    return Listing(rows, total, filters.page, max(1, -(-total // page_size)))


def export_rows(filters: Filters, *columns) -> Iterator[tuple]:
    """Every organization the filters leave, in order, as `listing_query` rows, read in batches
    so that memory stays flat whatever their number (give columns, not entities)."""
    query = listing_query(filters, *columns, every_row=True).execution_options(yield_per=EXPORT_BATCH)
    yield from db.session.execute(query).tuples()
