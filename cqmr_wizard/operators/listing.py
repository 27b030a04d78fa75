"""The dashboard's list of organizations: searched, filtered, sorted, counted and paginated in
SQL over the progress projection (tasks/projection.py), in three statements whatever the number of
organizations; the CSV export streams the same query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Organization
from ..models.base import utcnow
from ..models.progress import OrganizationProgress, OrganizationTaskStatus
from ..tasks import Status, TaskState
from ..tasks.expected import ORGANIZATION_TASKS, organization_states, overall_status
from ..tasks.projection import refresh_due

__all__ = ["ORGANIZATION_TASKS", "organization_states", "overall_status"]

OVERALL = "all"  # the pseudo-task "every required task"
SORTS = {
    "name": "Name",
    "started": "Started",
    "activity": "Last activity",
    "members": "Members",
}
EXPORT_BATCH = 500


@dataclass(frozen=True)
class Filters:
    """What the operator asked for; every field already validated."""

    q: str = ""
    task: str = ""
    status: str = ""
    stalled_days: int | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1


@dataclass(frozen=True)
class Row:
    """One organization as the dashboard shows it."""

    organization: Organization
    states: list[TaskState]
    overall: Status
    members: int
    ready: int
    last_activity: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(query: Select, q: str) -> Select:
    text = q.strip().lower()
    if not text:
        return query
    pattern = f"%{_escape_like(text)}%"
    conditions = [
        func.lower(Organization.legal_name).like(pattern, escape="\\"),
        func.lower(Organization.ohp_org_id).like(pattern, escape="\\"),
    ]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 2:
        conditions.append(func.replace(Organization.tax_id, "-", "").like(f"%{digits}%"))
    return query.where(or_(*conditions))


def _where(query: Select, filters: Filters) -> Select:
    query = _search(query, filters.q)
    if filters.stalled_days is not None:
        query = query.where(
            OrganizationProgress.last_activity_at < utcnow() - timedelta(days=filters.stalled_days),
            OrganizationProgress.overall != Status.COMPLETED.name,
        )
    if filters.status and filters.task in ("", OVERALL):
        query = query.where(OrganizationProgress.overall == filters.status)
    elif filters.status:
        query = query.where(
            exists().where(
                OrganizationTaskStatus.organization_id == OrganizationProgress.organization_id,
                OrganizationTaskStatus.task_key == filters.task,
                OrganizationTaskStatus.status == filters.status,
            )
        )
    return query


def _order(query: Select, filters: Filters) -> Select:
    column = {
        "name": OrganizationProgress.sort_name,
        "started": OrganizationProgress.started_at,
        "activity": OrganizationProgress.last_activity_at,
        "members": OrganizationProgress.members,
    }[filters.sort]
    key = column.desc() if filters.descending else column.asc()
    if filters.sort == "name":
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
)


def listing_query(filters: Filters, *columns, every_row: bool = False) -> Select:
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
    return _order(_where(query, filters), filters)


def split(result: tuple, columns: int) -> tuple[tuple, list[TaskState], Status, tuple]:
    """A result of `listing_query` as (the given columns, task states, overall, the rest)."""
    n = len(ORGANIZATION_TASKS)
    states = [
        TaskState(task, Status[name] if name else Status.NOT_STARTED, False)
        for task, name in zip(ORGANIZATION_TASKS, result[columns : columns + n], strict=True)
    ]
    overall, *rest = result[columns + n :]
    return tuple(result[:columns]), states, Status[overall], tuple(rest)


def count(filters: Filters) -> int:
    """How many organizations the filters leave."""
    query = select(func.count()).select_from(OrganizationProgress)
    if filters.q.strip():  # only a search reads the organization itself
        query = query.join(Organization, Organization.id == OrganizationProgress.organization_id)
    return db.session.scalar(_where(query, filters)) or 0


def list_organizations(filters: Filters, page_size: int) -> Listing:
    """One page of organizations, with the total the filters leave (three statements)."""
    refresh_due()
    total = count(filters)
    results = db.session.execute(
        listing_query(filters, Organization).limit(page_size).offset((filters.page - 1) * page_size)
    ).all()
    rows = []
    for result in results:
        (org,), states, overall, (members, ready, last_activity, completed_at) = split(result, 1)
        rows.append(Row(org, states, overall, members, ready, last_activity, completed_at))
    return Listing(rows, total, filters.page, max(1, -(-total // page_size)))


def export_rows(filters: Filters, *columns) -> Iterator[tuple]:
    """Every organization the filters leave, in order, as `listing_query` rows, read in batches
    so that memory stays flat whatever their number (give columns, not entities)."""
    query = listing_query(filters, *columns, every_row=True).execution_options(yield_per=EXPORT_BATCH)
    yield from db.session.execute(query).tuples()
