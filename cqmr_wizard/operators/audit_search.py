"""Searching the audit trail: by organization, user, event type and date range."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, func, or_, select

from ..audit.events import AuditEventType, label
from ..extensions import db
from ..like import contains_pattern
from ..models import AuditEvent, Organization, User

PAGE_SIZE = 50
# The page counts matches up to this many: the trail only grows, and counting all of it on every
# view would make the page slower each month. Searches narrow it; the CSV export has everything.
COUNT_LIMIT = 1000
EXPORT_BATCH = 1000
CSV_HEADER = [
    "Event ID",
    "Time (UTC)",
    "Event type",
    "Event",
    "Organization ID",
    "Organization",
    "Actor ID",
    "Actor email",
    "Subject user ID",
    "Subject email",
    "IP address",
    "User agent",
    "Request ID",
    "Details",
    "Hash",
    "Previous hash",
]


@dataclass(frozen=True)
class AuditFilters:
    organization: str = ""
    user: str = ""
    event_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def criteria(self) -> dict[str, str]:
        """The filters that are set, for the export's own audit event."""
        values = {
            "organization": self.organization,
            "user": self.user,
            "event_type": self.event_type,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in values.items() if v}


# Core tables, not ORM entities: the page and the export need plain rows, and statements of
# tables skip the ORM's compile and loading steps. The user aliases are built once (a new alias
# per request would rebuild its column proxies).
_events, _orgs = AuditEvent.__table__, Organization.__table__
_actors, _subjects = User.__table__.alias("actor"), User.__table__.alias("subject")
PAGE_COLUMNS = (
    _events.c.id,
    _events.c.occurred_at,
    _events.c.event_type,
    _events.c.organization_id,
    _events.c.ip_address,
    _events.c.details,
    _orgs.c.id.label("org_id"),
    _orgs.c.legal_name,
    _actors.c.email.label("actor_email"),
    _subjects.c.email.label("subject_email"),
)
_EXPORT_COLUMNS = (
    _events.c.id,
    _events.c.occurred_at,
    _events.c.event_type,
    _events.c.organization_id,
    _orgs.c.legal_name,
    _events.c.actor_id,
    _actors.c.email,
    _events.c.subject_user_id,
    _subjects.c.email,
    _events.c.ip_address,
    _events.c.user_agent,
    _events.c.request_id,
    _events.c.details,
    _events.c.hash,
    _events.c.prev_hash,
)
Shape = tuple[str, str, bool, bool, bool]


def _shape(filters: AuditFilters) -> tuple[Shape, dict[str, object]]:
    """Which kinds of criteria the filters set (the statement's shape) and their values."""
    params: dict[str, object] = {}
    org, org_kind = filters.organization.strip(), ""
    if org.isdigit():
        org_kind, params["org_id"] = "id", int(org)
    elif org:
        org_kind, params["org_like"] = "name", contains_pattern(org)
    user, user_kind = filters.user.strip(), ""
    if user.isdigit():
        user_kind, params["user_id"] = "id", int(user)
    elif user:
        user_kind, params["user_like"] = "email", contains_pattern(user)
    if filters.event_type:
        params["event_type"] = filters.event_type
    if filters.date_from:
        params["start"] = datetime.combine(filters.date_from, datetime.min.time(), UTC)
    if filters.date_to:
        params["end"] = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time(), UTC)
    shape = (org_kind, user_kind, bool(filters.event_type), bool(filters.date_from), bool(filters.date_to))
    return shape, params


def _search(shape: Shape, *columns, every_join: bool = True) -> Select:
    """`columns` of the events of one shape of filters, with their organization and users (only
    those the filters need, without `every_join`: each is at most one row, so the events are the
    same); the filters' values are bound parameters, so one statement serves every search of
    that shape."""
    org_kind, user_kind, event_type, date_from, date_to = shape
    source = _events
    if every_join or org_kind == "name":
        source = source.outerjoin(_orgs, _orgs.c.id == _events.c.organization_id)
    if every_join or user_kind == "email":
        source = source.outerjoin(_actors, _actors.c.id == _events.c.actor_id)
        source = source.outerjoin(_subjects, _subjects.c.id == _events.c.subject_user_id)
    query = select(*columns).select_from(source)
    if org_kind == "id":
        query = query.where(_events.c.organization_id == bindparam("org_id"))
    elif org_kind == "name":
        query = query.where(func.lower(_orgs.c.legal_name).like(bindparam("org_like"), escape="\\"))
    if user_kind == "id":
        user_id = bindparam("user_id")
        query = query.where(or_(_events.c.actor_id == user_id, _events.c.subject_user_id == user_id))
    elif user_kind == "email":
        user_like = bindparam("user_like")
        query = query.where(
            or_(
                func.lower(_actors.c.email).like(user_like, escape="\\"),
                func.lower(_subjects.c.email).like(user_like, escape="\\"),
            )
        )
    if event_type:
        query = query.where(_events.c.event_type == bindparam("event_type"))
    if date_from:
        query = query.where(_events.c.occurred_at >= bindparam("start"))
    if date_to:
        query = query.where(_events.c.occurred_at < bindparam("end"))
    return query


# Each statement is built once per shape (there are 72), not on every request: building one and
# working out its cache key cost more than running it.
@cache
def _count_statement(shape: Shape, limited: bool) -> Select:
    matching = _search(shape, _events.c.id, every_join=False)
    if limited:
        matching = matching.limit(bindparam("limit"))
    return select(func.count()).select_from(matching.subquery())


@cache
def _page_statement(shape: Shape) -> Select:
    return (
        _search(shape, *PAGE_COLUMNS)
        .order_by(_events.c.id.desc())
        .limit(PAGE_SIZE)
        .offset(bindparam("offset"))
    )


@cache
def _export_statement(shape: Shape, after: bool) -> Select:
    query = _search(shape, *_EXPORT_COLUMNS)
    if after:
        query = query.where(_events.c.id < bindparam("last_id"))
    return query.order_by(_events.c.id.desc()).limit(EXPORT_BATCH)


def count_events(filters: AuditFilters, limit: int | None = None) -> int:
    """How many events match (counting stops at `limit` when one is given)."""
    shape, params = _shape(filters)
    if limit is None:
        return db.session.scalar(_count_statement(shape, False), params)
    return db.session.scalar(_count_statement(shape, True), {**params, "limit": limit})


def page_of_events(filters: AuditFilters) -> tuple[list, int]:
    """One page of matching events (rows of PAGE_COLUMNS) and how many match, counted up to
    COUNT_LIMIT + 1 (a total above COUNT_LIMIT means "more than COUNT_LIMIT")."""
    total = count_events(filters, limit=COUNT_LIMIT + 1)
    shape, params = _shape(filters)
    offset = (filters.page - 1) * PAGE_SIZE
    rows = db.session.execute(_page_statement(shape), {**params, "offset": offset}).all()
    return rows, total


@cache
def event_types() -> tuple[tuple[str, str], ...]:
    """(stored type, label) of every event type the registry records, by label: read from the
    Enum, not from the trail, whose distinct types would cost a scan of every event."""
    return tuple(sorted(((event.value, event.label) for event in AuditEventType), key=lambda pair: pair[1]))


def export_rows(filters: AuditFilters) -> Iterator[list[object]]:
    """Every matching event as CSV cells, read in batches (newest first)."""
    shape, params = _shape(filters)
    rows = db.session.execute(_export_statement(shape, False), params).all()
    while rows:
        for row in rows:
            yield [*row[:3], label(row.event_type), *row[3:]]
        rows = db.session.execute(_export_statement(shape, True), {**params, "last_id": rows[-1].id}).all()
