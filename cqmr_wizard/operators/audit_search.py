"""Searching the audit trail: by organization, user, event type and date range."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased

from ..audit.events import AuditEventType, label
from ..extensions import db
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


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(filters: AuditFilters) -> Select:
    """Events matching the filters, newest first, with their organization and users."""
    actor, subject = aliased(User), aliased(User)
    query = (
        select(AuditEvent, Organization, actor, subject)
        .outerjoin(Organization, Organization.id == AuditEvent.organization_id)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(subject, subject.id == AuditEvent.subject_user_id)
    )
    org = filters.organization.strip()
    if org.isdigit():
        query = query.where(AuditEvent.organization_id == int(org))
    elif org:
        query = query.where(func.lower(Organization.legal_name).like(_like(org), escape="\\"))
    user = filters.user.strip()
    if user.isdigit():
        query = query.where(or_(AuditEvent.actor_id == int(user), AuditEvent.subject_user_id == int(user)))
    elif user:
        query = query.where(
            or_(
                func.lower(actor.email).like(_like(user), escape="\\"),
                func.lower(subject.email).like(_like(user), escape="\\"),
            )
        )
    if filters.event_type:
        query = query.where(AuditEvent.event_type == filters.event_type)
    if filters.date_from:
        start = datetime.combine(filters.date_from, datetime.min.time(), UTC)
        query = query.where(AuditEvent.occurred_at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time(), UTC)
        query = query.where(AuditEvent.occurred_at < end)
    return query.order_by(AuditEvent.id.desc())


def count_events(filters: AuditFilters, limit: int | None = None) -> int:
    """How many events match (counting stops at `limit` when one is given)."""
    query = search(filters).order_by(None).limit(limit)
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def page_of_events(filters: AuditFilters) -> tuple[list, int]:
    """One page of matching events and how many match, counted up to COUNT_LIMIT + 1 (a total
    above COUNT_LIMIT means "more than COUNT_LIMIT")."""
    query = search(filters)
    total = count_events(filters, limit=COUNT_LIMIT + 1)
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)).tuples().all()
    return rows, total


@cache
def event_types() -> tuple[tuple[str, str], ...]:
    """(stored type, label) of every event type the registry records, by label: read from the
    Enum, not from the trail, whose distinct types would cost a scan of every event."""
    return tuple(sorted(((event.value, event.label) for event in AuditEventType), key=lambda pair: pair[1]))


def export_rows(filters: AuditFilters) -> Iterator[list[object]]:
    """Every matching event as CSV cells, read in batches (newest first)."""
    query = search(filters)
    last_id = None
    while True:
        batch = query if last_id is None else query.where(AuditEvent.id < last_id)
        rows = db.session.execute(batch.limit(EXPORT_BATCH)).tuples().all()
        if not rows:
            return
        for event, org, actor, subject in rows:
            yield [
                event.id,
                event.occurred_at,
                event.event_type,
                label(event.event_type),
                event.organization_id,
                org.legal_name if org else None,
                event.actor_id,
                actor.email if actor else None,
                event.subject_user_id,
                subject.email if subject else None,
                event.ip_address,
                event.user_agent,
                event.request_id,
                event.details,
                event.hash,
                event.prev_hash,
            ]
        last_id = rows[-1][0].id
        for row in rows:  # keep memory flat; users and organizations are few by comparison
            db.session.expunge(row[0])
