"""The progress projection: computed by the task engine from live facts, written in the same
transaction as the change (see tracking.py), verified and rebuilt by `flask progress`.

Organization rows hold the organization-scope task statuses, the overall status, the member
counts and the started / last activity / completed times; member rows hold each member's own
task statuses and readiness. A member's own tasks depend on their own facts only: a member task
that waits for an organization task (connecting one's own OneHealthPort account waits for the
organization's connection) is stored with that dependency met, and the task list applies it
when it reads the two rows together (task_list.py)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AuditEvent, Invitation, Membership, Organization, User
from ..models.base import utcnow
from ..models.progress import MemberProgress, MemberTaskStatus, OrganizationProgress, OrganizationTaskStatus
from . import facts as live  # a module, not its names: the features' packages import this one
from .definitions import TASKS
from .engine import Facts, OrganizationFacts, Status, TaskState, missing_required, task_statuses
from .tracking import KEY, ORGANIZATIONS, PEOPLE, REFRESHED, Touched, install, touched

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
_RUNNING = "progress_hooks_running"
# Called at the transaction's own commit, once the projection is up to date, with the
# organizations it refreshed in that transaction; registered by features (see `at_commit`).
AT_COMMIT: list[Callable[[Session, frozenset[int]], None]] = []


@dataclass(frozen=True)
class Expected:
    """A projection row as live facts say it should be, with its task statuses by key."""

    row: dict[str, object]
    statuses: dict[str, str] = field(default_factory=dict)


def overall_status(states: Sequence[TaskState]) -> Status:
    """Completed when no required task is missing; not started when nothing is under way."""
    if not missing_required(states):
        return Status.COMPLETED
    if all(s.status in (Status.NOT_STARTED, Status.CANNOT_START) for s in states):
        return Status.NOT_STARTED
    return Status.IN_PROGRESS


def organization_states(org_facts: OrganizationFacts) -> list[TaskState]:
    """The organization-scope task states, as an administrator's task list shows them."""
    return task_statuses(
        Facts(email_verified=True, is_admin=True, organization=org_facts), ORGANIZATION_TASKS
    )


def member_states(facts: Facts) -> list[TaskState]:
    """A member's own task states from their own facts, organization dependencies taken as met."""
    return task_statuses(facts, MEMBER_TASKS, done_elsewhere=[task.key for task in ORGANIZATION_TASKS])


def member_ready(facts: Facts, states: Sequence[TaskState]) -> bool:
    """Email verified and every required task of their own completed."""
    return facts.email_verified and all(s.completed for s in states if s.task.required)


def expected_members(user_ids: Collection[int]) -> dict[int, Expected]:
    """The member rows of these people (those who belong to an organization)."""
    expected = {}
    for user_id, (person, facts) in live.people_facts(user_ids).items():
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
            "ready": not person.deactivated and member_ready(facts, states),
        }
        expected[user_id] = Expected(row, {s.task.key: s.status.name for s in states})
    return expected


def _times(organization_ids: Collection[int]) -> tuple[dict[int, datetime], ...]:
    activity = dict(
        db.session.execute(
            select(AuditEvent.organization_id, func.max(AuditEvent.occurred_at))
            .where(
                AuditEvent.organization_id.in_(organization_ids),
                AuditEvent.event_type.not_in(NOT_ACTIVITY),
            )
            .group_by(AuditEvent.organization_id)
        ).all()
    )
    completed = dict(
        db.session.execute(
            select(AuditEvent.organization_id, func.min(AuditEvent.occurred_at))
            .where(
                AuditEvent.organization_id.in_(organization_ids), AuditEvent.event_type == COMPLETION_EVENT
            )
            .group_by(AuditEvent.organization_id)
        ).all()
    )
    expiring = dict(
        db.session.execute(
            select(Invitation.organization_id, func.min(Invitation.expires_at))
            .where(
                Invitation.organization_id.in_(organization_ids),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .group_by(Invitation.organization_id)
        ).all()
    )
    return activity, completed, expiring


def expected_organizations(organization_ids: Collection[int], ready: dict[int, int]) -> dict[int, Expected]:
    """The organization rows of these organizations, given how many members each has ready."""
    orgs = db.session.scalars(select(Organization).where(Organization.id.in_(organization_ids))).all()
    facts = live.organizations_facts(orgs)
    activity, completed, expiring = _times([org.id for org in orgs])
    expected = {}
    for org in orgs:
        states = organization_states(facts[org.id])
        row = {
            "organization_id": org.id,
            "sort_name": org.legal_name.lower() if org.legal_name else None,
            "overall": overall_status(states).name,
            "members": facts[org.id].members,
            "members_ready": ready.get(org.id, 0),
            "admins": facts[org.id].admins,
            "signers": facts[org.id].signers,
            "pending_invitations": facts[org.id].pending_invitations,
            "started_at": org.created_at,
            "last_activity_at": activity.get(org.id) or org.updated_at,
            "completed_at": completed.get(org.id),
            "refresh_due_at": expiring.get(org.id),
        }
        expected[org.id] = Expected(row, {s.task.key: s.status.name for s in states})
    return expected


def chunks(ids: Collection[int]) -> Iterator[list[int]]:
    """The ids in sorted lists of at most CHUNK (bounded IN lists and memory)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _upsert(session: Session, model: type, keys: list[str], rows: list[dict]) -> None:
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(model)
    columns = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=columns), rows)


def _write(
    session: Session, model, status_model, key: str, ids: list[int], expected: dict[int, Expected]
) -> None:
    """Make the rows of `ids` what `expected` says: upsert those expected, delete the others."""
    column, status_key = getattr(model, key), getattr(status_model, key)
    session.execute(delete(model).where(column.in_(ids), column.not_in(list(expected))))
    keys = {task for e in expected.values() for task in e.statuses}
    session.execute(
        delete(status_model).where(
            status_key.in_(ids), or_(status_key.not_in(list(expected)), status_model.task_key.not_in(keys))
        )
    )
    _upsert(session, model, [key], [e.row for e in expected.values()])
    statuses = [
        {key: k, "task_key": t, "status": s} for k, e in expected.items() for t, s in e.statuses.items()
    ]
    _upsert(session, status_model, [key, "task_key"], statuses)


def _ready_counts(organization_ids: list[int]) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(MemberProgress.organization_id, func.count())
            .where(MemberProgress.organization_id.in_(organization_ids), MemberProgress.ready)
            .group_by(MemberProgress.organization_id)
        ).all()
    )


def _resolve(notes: Touched) -> tuple[set[int], set[int]]:
    """Everyone the notes name: the people and organizations to recompute."""
    users, orgs = set(notes.users), set(notes.organizations)
    if PEOPLE in notes.everyone:
        users |= set(db.session.scalars(select(Membership.user_id)))
        users |= set(db.session.scalars(select(MemberProgress.user_id)))
    if notes.everyone:
        orgs |= set(db.session.scalars(select(Organization.id)))
    for ids in chunks(notes.memberships):
        for user_id, org_id in db.session.execute(
            select(Membership.user_id, Membership.organization_id).where(Membership.id.in_(ids))
        ):
            users.add(user_id)
            orgs.add(org_id)
    for ids in chunks(users):
        orgs |= set(db.session.scalars(select(Membership.organization_id).where(Membership.user_id.in_(ids))))
        orgs |= set(
            db.session.scalars(select(MemberProgress.organization_id).where(MemberProgress.user_id.in_(ids)))
        )
    return users, orgs


def refresh(session: Session, notes: Touched) -> None:
    """Recompute and write the projection of everyone the notes name, in this transaction."""
    users, orgs = _resolve(notes)
    session.info.setdefault(REFRESHED, set()).update(orgs)
    _refresh_activity(session, notes.activity - orgs)
    locking = session.get_bind().dialect.name == "postgresql"
    for ids in chunks(users):
        if locking:  # one transaction at a time recomputes a person, reading what the last wrote
            session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())
        _write(session, MemberProgress, MemberTaskStatus, "user_id", ids, expected_members(ids))
    for ids in chunks(orgs):
        if locking:
            session.execute(
                select(Organization.id)
                .where(Organization.id.in_(ids))
                .order_by(Organization.id)
                .with_for_update()
            )
        expected = expected_organizations(ids, _ready_counts(ids))
        _write(session, OrganizationProgress, OrganizationTaskStatus, "organization_id", ids, expected)


def _refresh_activity(session: Session, organization_ids: set[int]) -> None:
    """Move only the last activity and completion times of these organizations."""
    for ids in chunks(organization_ids):
        activity, completed, _ = _times(ids)
        if not activity and not completed:
            continue
        for org_id in ids:
            values = {"completed_at": completed.get(org_id)}
            if org_id in activity:
                values["last_activity_at"] = activity[org_id]
            session.execute(
                update(OrganizationProgress)
                .where(OrganizationProgress.organization_id == org_id)
                .values(**values)
            )


def _bring_up_to_date(session: Session) -> None:
    session.flush()
    notes = touched(session)
    while notes:
        session.info[KEY] = Touched()
        refresh(session, notes)
        session.flush()
        notes = touched(session)


def before_commit(session: Session) -> None:
    """Bring the projection up to date with every fact this transaction changed; at the
    transaction's own commit, then run the `AT_COMMIT` hooks with the organizations refreshed."""
    _bring_up_to_date(session)
    # before_commit fires at a SAVEPOINT's release too: the hooks wait for the real commit (on
    # PostgreSQL a hook run at a release saw only part of the transaction's changes).
    if not AT_COMMIT or session.in_nested_transaction() or session.info.get(_RUNNING):
        return
    refreshed = frozenset(session.info.get(REFRESHED, ()))
    session.info[_RUNNING] = True
    try:
        for hook in AT_COMMIT:
            hook(session, refreshed)
    finally:
        session.info.pop(_RUNNING, None)
    _bring_up_to_date(session)  # what the hooks wrote is part of this transaction too


def at_commit(hook: Callable[[Session, frozenset[int]], None]) -> None:
    """Run `hook(session, organization_ids)` at each transaction's own commit, after the
    projection of those organizations (every one this transaction refreshed) is up to date."""
    if hook not in AT_COMMIT:
        AT_COMMIT.append(hook)


def refresh_due() -> None:
    """Recompute (and commit) the organizations whose facts time alone has changed since they
    were written (an invitation expired); lists call it before reading, one query when none."""
    due = list(
        db.session.scalars(
            select(OrganizationProgress.organization_id).where(
                OrganizationProgress.refresh_due_at <= utcnow()
            )
        )
    )
    if due:
        refresh(db.session, Touched(organizations=set(due)))
        db.session.commit()


def rebuild() -> None:
    """Recompute the whole projection from live facts and commit it."""
    notes = Touched(everyone={PEOPLE, ORGANIZATIONS})
    refresh(db.session, notes)
    db.session.commit()


def install_projection() -> None:
    """Keep the projection of every Flask-SQLAlchemy session up to date at each commit."""
    install(FlaskSession, before_commit)
