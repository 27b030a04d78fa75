"""The dashboard's list of organizations: searched, filtered, sorted, counted and paginated in
SQL over the progress projection (tasks/projection.py), in three statements whatever the number of
organizations; the CSV export streams the same query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Organization
from ..models.progress import OrganizationProgress, OrganizationTaskStatus
from ..tasks import Status, TaskState
from ..tasks.expected import ORGANIZATION_TASKS, organization_states, overall_status
from .filters import Filters, Shape, params_of, shape_of, where

__all__ = ["ORGANIZATION_TASKS", "organization_states", "overall_status"]

EXPORT_BATCH = 500
LIMIT = bindparam("limit", type_=Integer())
OFFSET = bindparam("offset", type_=Integer())


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
    return _order(where(query, shape), shape)


def listing_query(filters: Filters, *columns, every_row: bool = False) -> Select:
    """`_listing` for these filters, their values bound (the export and the reminders)."""
    return _listing(shape_of(filters), columns, every_row).params(params_of(filters))


@cache
def _page_statement(shape: Shape) -> Select:
    return _listing(shape, SUMMARY_COLUMNS, every_row=False).limit(LIMIT).offset(OFFSET)


@cache
def _count_statement(shape: Shape) -> Select:
    query = select(func.count()).select_from(OrganizationProgress)
    if shape.search or shape.participation:  # only these read the organization itself
        query = query.join(Organization, Organization.id == OrganizationProgress.organization_id)
    return where(query, shape)


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
    return shape_of(filters)._replace(sort="name", descending=False)  # the count has no order


def count(filters: Filters) -> int:
    """How many organizations the filters leave."""
    return db.session.scalar(_count_statement(_count_shape(filters)), params_of(filters)) or 0


def list_organizations(filters: Filters, page_size: int) -> Listing:
    """One page of organizations, with the total the filters leave (three statements)."""
    total = count(filters)
    params = params_of(filters)
    params.update(limit=page_size, offset=(filters.page - 1) * page_size)
    results = db.session.execute(_page_statement(shape_of(filters)), params).all()
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
