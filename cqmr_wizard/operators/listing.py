"""The dashboard's list of organizations: searched, filtered, sorted and paginated in SQL;
task statuses computed by the task engine from facts gathered in bulk.

Task statuses are never stored, so a filter on them reads the facts of every organization the
SQL filters leave (a fixed number of queries, time growing with their number); without one,
only the page's organizations are read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AuditEvent, Membership, Organization, User
from ..models.base import utcnow
from ..tasks import TASKS, Status, TaskState, task_statuses
from ..tasks.bulk import MemberFacts, member_facts_bulk, organization_facts_bulk
from ..tasks.engine import Facts, OrganizationFacts, missing_required

# The gate records this each time it lets a member through to the CQMR, which it does only
# when every required task is complete: its first occurrence is the "completed" date.
COMPLETION_EVENT = AuditEventType.GATE_REDIRECTED
# Events about an organization that are not its own activity: a reminder or an operator's
# look at its documents must not make a stalled organization look busy.
NOT_ACTIVITY = (
    AuditEventType.REMINDER_SENT,
    AuditEventType.OPERATOR_DOCUMENT_DOWNLOADED,
    AuditEventType.OPERATOR_UPLOAD_DOWNLOADED,
    AuditEventType.OPERATOR_ORGANIZATION_SUSPENDED,
    AuditEventType.OPERATOR_ORGANIZATION_REACTIVATED,
    AuditEventType.OPERATOR_EXPORTED,
)
OVERALL = "all"  # the pseudo-task "every required task"
ORGANIZATION_TASKS = [task for task in TASKS if task.scope == "organization"]
SORTS = {
    "name": "Name",
    "started": "Started",
    "activity": "Last activity",
    "members": "Members",
}


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

    @property
    def reads_every_organization(self) -> bool:
        return bool(self.status) or self.stalled_days is not None


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
    member_facts: list[MemberFacts]


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    total: int
    page: int
    pages: int


def overall_status(states: list[TaskState]) -> Status:
    """Completed when no required task is missing; not started when nothing is under way."""
    if not missing_required(states):
        return Status.COMPLETED
    if all(s.status in (Status.NOT_STARTED, Status.CANNOT_START) for s in states):
        return Status.NOT_STARTED
    return Status.IN_PROGRESS


def organization_states(org_facts: OrganizationFacts) -> list[TaskState]:
    """The organization-scope task states, as an administrator's task list shows them."""
    facts = Facts(email_verified=True, is_admin=True, organization=org_facts)
    return task_statuses(facts, ORGANIZATION_TASKS)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _columns():
    activity = (
        select(AuditEvent.organization_id, func.max(AuditEvent.occurred_at).label("at"))
        .where(
            AuditEvent.organization_id.is_not(None),
            AuditEvent.event_type.not_in(NOT_ACTIVITY),
        )
        .group_by(AuditEvent.organization_id)
        .subquery("activity")
    )
    completed = (
        select(AuditEvent.organization_id, func.min(AuditEvent.occurred_at).label("at"))
        .where(AuditEvent.event_type == COMPLETION_EVENT)
        .group_by(AuditEvent.organization_id)
        .subquery("completed")
    )
    members = (
        select(Membership.organization_id, func.count(Membership.id).label("n"))
        .join(User, User.id == Membership.user_id)
        .where(User.deactivated_at.is_(None))
        .group_by(Membership.organization_id)
        .subquery("members")
    )
    last_activity = func.coalesce(activity.c.at, Organization.updated_at).label("last_activity")
    member_count = func.coalesce(members.c.n, 0).label("members")
    query = (
        select(Organization, member_count, last_activity, completed.c.at.label("completed_at"))
        .outerjoin(activity, activity.c.organization_id == Organization.id)
        .outerjoin(completed, completed.c.organization_id == Organization.id)
        .outerjoin(members, members.c.organization_id == Organization.id)
    )
    return query, last_activity, member_count


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


def _order(query: Select, filters: Filters, last_activity, member_count) -> Select:
    keys = {
        "name": [Organization.legal_name.is_(None), func.lower(Organization.legal_name)],
        "started": [Organization.created_at],
        "activity": [last_activity],
        "members": [member_count],
    }[filters.sort]
    if filters.descending:
        keys = (
            [keys[0], *(k.desc() for k in keys[1:])] if filters.sort == "name" else [k.desc() for k in keys]
        )
    return query.order_by(*keys, Organization.id)


def filtered_query(filters: Filters) -> Select:
    """The SQL part: search, the stalled cut-off, the order."""
    query, last_activity, member_count = _columns()
    query = _search(query, filters.q)
    if filters.stalled_days is not None:
        query = query.where(last_activity < utcnow() - timedelta(days=filters.stalled_days))
    return _order(query, filters, last_activity, member_count)


def _keep(filters: Filters, states: list[TaskState], overall: Status) -> bool:
    if filters.stalled_days is not None and overall is Status.COMPLETED:
        return False
    if not filters.status:
        return True
    if filters.task in ("", OVERALL):
        return overall.name == filters.status
    return any(s.task.key == filters.task and s.status.name == filters.status for s in states)


def _rows(results: list, with_members: bool) -> tuple[list[Row], dict]:
    facts = organization_facts_bulk([r[0] for r in results])
    members = member_facts_bulk(facts) if with_members else {}
    rows = []
    for org, member_count, last_activity, completed_at in results:
        states = organization_states(facts[org.id])
        listed = members.get(org.id, [])
        rows.append(
            Row(
                org,
                states,
                overall_status(states),
                member_count,
                sum(1 for m in listed if m.ready),
                last_activity,
                completed_at,
                listed,
            )
        )
    return rows, facts


def list_organizations(filters: Filters, page_size: int) -> Listing:
    """One page of organizations, with the total the filters leave."""
    query = filtered_query(filters)
    offset = (filters.page - 1) * page_size
    if filters.reads_every_organization:
        every, _ = _rows(db.session.execute(query).all(), with_members=False)
        kept = [row for row in every if _keep(filters, row.states, row.overall)]
        total = len(kept)
        page_orgs = {row.organization.id for row in kept[offset : offset + page_size]}
        results = [
            (r.organization, r.members, r.last_activity, r.completed_at)
            for r in kept
            if r.organization.id in page_orgs
        ]
    else:
        total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        results = db.session.execute(query.limit(page_size).offset(offset)).all()
    rows, _ = _rows(results, with_members=True)
    pages = max(1, -(-total // page_size))
    return Listing(rows, total, filters.page, pages)


def export_rows(filters: Filters) -> list[Row]:
    """Every organization the filters leave, in order, for the CSV export."""
    rows, _ = _rows(db.session.execute(filtered_query(filters)).all(), with_members=True)
    return [row for row in rows if _keep(filters, row.states, row.overall)]
