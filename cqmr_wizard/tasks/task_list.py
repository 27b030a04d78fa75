"""A person's task list as the page shows it, read from the progress projection."""

from __future__ import annotations

from sqlalchemy import or_, select, union_all

from ..extensions import db
from ..models import Membership, User
from ..models.base import utcnow
from ..models.progress import MemberTaskStatus, OrganizationProgress, OrganizationTaskStatus
from .definitions import TASKS
from .engine import Facts, OrganizationFacts, Status, TaskState, task_statuses
from .facts import load_facts


def projected_states(user: User, membership: Membership | None) -> list[TaskState]:
    """A person's task list read from the projection in one query (live without an organization,
    or if the projection has no current row for them)."""
    if membership is None:
        return task_statuses(load_facts(user, None), TASKS)
    due = OrganizationProgress.refresh_due_at
    rows = db.session.execute(
        union_all(
            select(OrganizationTaskStatus.task_key, OrganizationTaskStatus.status)
            .join(
                OrganizationProgress,
                OrganizationProgress.organization_id == OrganizationTaskStatus.organization_id,
            )
            .where(
                OrganizationTaskStatus.organization_id == membership.organization_id,
                or_(due.is_(None), due > utcnow()),  # else time changed a fact: computed live below
            ),
            select(MemberTaskStatus.task_key, MemberTaskStatus.status).where(
                MemberTaskStatus.user_id == user.id
            ),
        )
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
