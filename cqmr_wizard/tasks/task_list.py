"""A person's task list as the page shows it, read from the progress projection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import CompoundSelect, Select, bindparam, or_, select, union_all

from ..extensions import db
from ..models import Membership, User
from ..models.base import UTCDateTime, utcnow
from ..models.progress import MemberTaskStatus, OrganizationProgress, OrganizationTaskStatus
from .definitions import TASKS
from .engine import Facts, OrganizationFacts, Status, TaskState, task_statuses
from .facts import load_facts


@cache
def _statuses_statement() -> CompoundSelect:
    """The person's organization's and own task statuses (built once: every task list runs it)."""
    due = OrganizationProgress.refresh_due_at
    return union_all(
        select(OrganizationTaskStatus.task_key, OrganizationTaskStatus.status)
        .join(
            OrganizationProgress,
            OrganizationProgress.organization_id == OrganizationTaskStatus.organization_id,
        )
        .where(
            OrganizationTaskStatus.organization_id == bindparam("organization_id"),
            # Else time changed a fact since it was written: computed live instead.
            or_(due.is_(None), due > bindparam("now", type_=UTCDateTime())),
        ),
        select(MemberTaskStatus.task_key, MemberTaskStatus.status).where(
            MemberTaskStatus.user_id == bindparam("user_id")
        ),
    )


@cache
def _team_statement() -> Select:
    """Built once: an administrator's task list reads it."""
    return select(
        OrganizationProgress.pending_invitations,
        OrganizationProgress.signers,
        OrganizationProgress.access_review_due_at,
    ).where(OrganizationProgress.organization_id == bindparam("organization_id"))


@dataclass(frozen=True)
class TeamNotes:
    """What an administrator's task list says of the team besides its task: invitations
    waiting (information, never an unfinished task of a live organization) and signers named."""

    invitations_waiting: int = 0
    signers: int = 0
    access_review_due_at: datetime | None = None  # a live organization's next access review


def team_notes(organization_id: int) -> TeamNotes:
    """The team's notes for the task list, from the projection (one statement)."""
    row = db.session.execute(_team_statement(), {"organization_id": organization_id}).first()
    return TeamNotes(*row) if row is not None else TeamNotes()


def projected_states(user: User, membership: Membership | None) -> list[TaskState]:
    """A person's task list read from the projection in one query (live without an organization,
    or if the projection has no current row for them)."""
    if membership is None:
        return task_statuses(load_facts(user, None), TASKS)
    rows = db.session.execute(
        _statuses_statement(),
        {"organization_id": membership.organization_id, "user_id": user.id, "now": utcnow()},
    ).all()
    statuses = dict(rows)
    if any(task.key not in statuses for task in TASKS):
        return task_statuses(load_facts(user, membership), TASKS)
    # Who may act depends on the person's roles only, not on the organization's facts.
    who = Facts(
        email_verified=user.email_verified,
        is_admin=membership.has_role("admin"),
        is_signer=membership.has_role("signer"),
        organization=OrganizationFacts(),
    )
    states, done = [], set()
    for task in TASKS:
        status = Status[statuses[task.key]]
        if not done.issuperset(task.depends_on):  # a member task waiting for an organization task
            status = Status.CANNOT_START
        if status is Status.COMPLETED:
            done.add(task.key)
        states.append(TaskState(task, status, status is not Status.CANNOT_START and task.actionable(who)))
    return states
