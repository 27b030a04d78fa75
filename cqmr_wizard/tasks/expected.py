"""What the progress projection should hold, computed by the task engine from live facts:
`verify` compares the stored rows with these, and the projection writes them.

Organization rows hold the organization-scope task statuses, the overall status, whether its own
facts let its members through the gate, the member counts and the started / last activity /
completed times; member rows hold each member's own task statuses and readiness: the gate's
answer (gate_rule.py), which depends on their organization's facts too. A member's own tasks
depend on their own facts only: a member task that waits for an organization task (connecting
one's own OneHealthPort account waits for the organization's connection) is stored with that
dependency met, and the task list applies it when it reads the two rows together (task_list.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AuditEvent, Invitation, Membership, Organization
from ..models.base import utcnow
from ..team.review_facts import due_dates, enforced_from
from .definitions import TASKS
from .engine import (
    AgreementFact,
    Facts,
    OrganizationFacts,
    Status,
    TaskState,
    missing_required,
    task_statuses,
)
from .facts import organizations_facts, people_facts
from .gate_rule import asked, gate_ready, in_force, organization_blockers

ORGANIZATION_TASKS = [task for task in TASKS if task.scope == "organization"]
MEMBER_TASKS = [task for task in TASKS if task.scope == "user"]
# The gate records this each time it lets a member through to the CQMR, which it does only
# when every required task is complete: its first occurrence is the "completed" time.
COMPLETION_EVENT = AuditEventType.GATE_REDIRECTED
# Events about an organization that are not its own activity: a reminder or an operator's
# look at its documents must not make a stalled organization look busy.
NOT_ACTIVITY = (
    AuditEventType.REMINDER_SENT,
    AuditEventType.OPERATOR_EXPORTED,
    AuditEventType.OPERATOR_DOCUMENT_DOWNLOADED,
    AuditEventType.OPERATOR_UPLOAD_DOWNLOADED,
    AuditEventType.OPERATOR_ORGANIZATION_SUSPENDED,
    AuditEventType.OPERATOR_ORGANIZATION_REACTIVATED,
)
CHUNK = 500


def resign_by(agreements: Sequence[AgreementFact]) -> datetime | None:
    """The earliest date by which a new version of these agreements must be signed, while one
    signed before has not been signed again (before it: re-sign due; after it: overdue)."""
    return min((a.sign_by for a in agreements if a.stale and a.sign_by is not None), default=None)


def next_deadline(agreements: Sequence[AgreementFact], *others: datetime | None) -> datetime | None:
    """When time alone next changes these facts: the earliest date to re-sign by still ahead
    (an earlier signature stops counting then), or one of `others`."""
    dates = [a.sign_by for a in agreements if a.resign_due and a.sign_by is not None]
    return min([d for d in (*dates, *others) if d is not None], default=None)


@dataclass(frozen=True)
class Expected:
    """A projection row as live facts say it should be, with its task statuses by key."""

    row: dict[str, object]
    statuses: dict[str, str] = field(default_factory=dict)


def overall_status(states: Sequence[TaskState], live: bool = False, facts: Facts | None = None) -> Status:
    """Completed when no required task the organization's phase asks for is missing (a live
    organization is no longer asked its onboarding tasks, and its agreements count while an
    earlier signature is in force); not started when nothing is under way."""
    missing = [
        s
        for s in missing_required(states)
        if asked(s.task, live) and not (facts is not None and in_force(s.task, facts, live))
    ]
    if not missing:
        return Status.COMPLETED
    if all(s.status in (Status.NOT_STARTED, Status.CANNOT_START) for s in states):
        return Status.NOT_STARTED
    return Status.IN_PROGRESS


def administrator_facts(org_facts: OrganizationFacts) -> Facts:
    """An administrator's facts in this organization: its tasks as its task list shows them."""
    return Facts(email_verified=True, is_admin=True, organization=org_facts)


def organization_states(org_facts: OrganizationFacts) -> list[TaskState]:
    """The organization-scope task states, as an administrator's task list shows them."""
    return task_statuses(administrator_facts(org_facts), ORGANIZATION_TASKS)


def member_states(facts: Facts) -> list[TaskState]:
    """A member's own task states from their own facts, organization dependencies taken as met."""
    return task_statuses(facts, MEMBER_TASKS, done_elsewhere=[task.key for task in ORGANIZATION_TASKS])


def expected_members(user_ids: Collection[int]) -> dict[int, Expected]:
    """The member rows of these people (those who belong to an organization), each `ready` when
    the gate would let them in; their organizations' facts are loaded with theirs, in bulk."""
    orgs = db.session.scalars(
        select(Organization).where(
            Organization.id.in_(select(Membership.organization_id).where(Membership.user_id.in_(user_ids)))
        )
    ).all()
    expected = {}
    for user_id, (person, facts) in people_facts(user_ids, organizations_facts(orgs)).items():
        if person.membership_id is None:
            continue
        states = member_states(facts)
        row = {
            "user_id": user_id,
            "organization_id": person.organization_id,
            "membership_id": person.membership_id,
            "sort_name": person.full_name.lower()[:200],
            "email_verified": facts.email_verified,
            "sso_linked": facts.sso_linked,
            "deactivated": person.deactivated,
            "ready": gate_ready(facts, has_role=bool(person.roles), deactivated=person.deactivated),
            "refresh_due_at": next_deadline(facts.user_agreements),
        }
        expected[user_id] = Expected(row, {s.task.key: s.status.name for s in states})
    return expected


def per_organization(
    organization_id: InstrumentedAttribute[int], value: ColumnElement, *conditions: ColumnElement[bool]
) -> dict[int, Any]:
    """`value` aggregated per organization over the rows that meet `conditions`."""
    return dict(
        db.session.execute(select(organization_id, value).where(*conditions).group_by(organization_id)).all()
    )


def activity_times(organization_ids: Collection[int]) -> tuple[dict[int, datetime], ...]:
    """Per organization: its last activity, its completion, and when its first open invitation expires."""
    activity = per_organization(
        AuditEvent.organization_id,
        func.max(AuditEvent.occurred_at),
        AuditEvent.organization_id.in_(organization_ids),
        AuditEvent.event_type.not_in(NOT_ACTIVITY),
    )
    completed = per_organization(
        AuditEvent.organization_id,
        func.min(AuditEvent.occurred_at),
        AuditEvent.organization_id.in_(organization_ids),
        AuditEvent.event_type == COMPLETION_EVENT,
    )
    expiring = per_organization(
        Invitation.organization_id,
        func.min(Invitation.expires_at),
        Invitation.organization_id.in_(organization_ids),
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    return activity, completed, expiring


def next_change(*moments: datetime | None) -> datetime | None:
    """The earliest of the moments still to come at which time alone changes a fact (an open
    invitation expires; an overdue access review's grace period ends, when enforced)."""
    now = utcnow()
    coming = [moment for moment in moments if moment is not None and moment > now]
    return min(coming, default=None)


def expected_organizations(organization_ids: Collection[int], ready: dict[int, int]) -> dict[int, Expected]:
    """The organization rows of these organizations, given how many members each has ready."""
    orgs = db.session.scalars(select(Organization).where(Organization.id.in_(organization_ids))).all()
    facts = organizations_facts(orgs)
    activity, completed, expiring = activity_times([org.id for org in orgs])
    reviews_due = due_dates(orgs)
    expected = {}
    for org in orgs:
        states = organization_states(facts[org.id])
        row = {
            "organization_id": org.id,
            "sort_name": org.legal_name.lower() if org.legal_name else None,
            "overall": overall_status(states, facts[org.id].live, administrator_facts(facts[org.id])).name,
            "gate_open": not organization_blockers(facts[org.id]),
            "members": facts[org.id].members,
            "members_ready": ready.get(org.id, 0),
            "admins": facts[org.id].admins,
            "signers": facts[org.id].signers,
            "pending_invitations": facts[org.id].pending_invitations,
            "started_at": org.created_at,
            "last_activity_at": activity.get(org.id) or org.updated_at,
            "completed_at": completed.get(org.id),
            "went_live_at": org.went_live_at,
            "access_review_due_at": reviews_due[org.id],
            "refresh_due_at": next_change(
                next_deadline(facts[org.id].agreements, expiring.get(org.id)),
                enforced_from(reviews_due[org.id]),
            ),
            "resign_by": resign_by(facts[org.id].agreements),
        }
        expected[org.id] = Expected(row, {s.task.key: s.status.name for s in states})
    return expected


def chunks(ids: Collection[int]) -> Iterator[list[int]]:
    """The ids in sorted lists of at most CHUNK (bounded IN lists and memory)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]
