"""The progress projection, written in the same transaction as the facts change (see
tracking.py): at each commit the commit pipeline's projection stage (`bring_up_to_date`)
recomputes the rows of everyone noted from live facts (expected.py) and upserts them;
`apply_clock` recomputes what time alone made due; `flask progress` verifies and rebuilds it."""

from __future__ import annotations

from functools import cache

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import CompoundSelect, bindparam, delete, func, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Membership, Organization, User
from ..models.base import utcnow
from ..models.progress import MemberProgress, MemberTaskStatus, OrganizationProgress, OrganizationTaskStatus
from ..upsert import upsert
from .expected import (
    Expected,
    activity_times,
    chunks,
    expected_members,
    expected_organizations,
    per_organization,
)
from .tracking import KEY, ORGANIZATIONS, PEOPLE, REFRESHED, Touched, install, touched


def _upsert(session: Session, model: type, keys: list[str], rows: list[dict]) -> None:
    if not rows:
        return
    changed = [name for name in rows[0] if name not in keys]
    statement = upsert(session.get_bind(), model, keys, lambda row: {name: row[name] for name in changed})
    session.execute(statement, rows)


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
    return per_organization(
        MemberProgress.organization_id,
        func.count(),
        MemberProgress.organization_id.in_(organization_ids),
        MemberProgress.ready,
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
    """Recompute and write the projection of everyone the notes name, in this transaction; with
    the members of each organization whose own gate answer changed (a member's `ready` is the
    gate's, which an organization's suspension or its tasks change for all its members)."""
    users, orgs = _resolve(notes)
    session.info.setdefault(REFRESHED, set()).update(orgs)
    _refresh_activity(session, notes.activity - orgs)
    locking = session.get_bind().dialect.name == "postgresql"
    organizations: dict[int, Expected] = {}
    # Organizations first: a transaction that changed one holds its row already, and then
    # needs its members' rows too; locking them in the other order could deadlock with it.
    for ids in chunks(orgs):
        if locking:
            session.execute(
                select(Organization.id)
                .where(Organization.id.in_(ids))
                .order_by(Organization.id)
                .with_for_update()
            )
        expected = expected_organizations(ids, {})  # members_ready once the members are written
        users |= _members_of(_gate_changed(ids, expected))
        organizations.update(expected)
    for ids in chunks(users):
        if locking:  # one transaction at a time recomputes a person, reading what the last wrote
            session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())
        _write(session, MemberProgress, MemberTaskStatus, "user_id", ids, expected_members(ids))
    for ids in chunks(orgs):
        ready = _ready_counts(ids)
        expected = {org_id: organizations[org_id] for org_id in ids if org_id in organizations}
        for org_id, row in expected.items():
            row.row["members_ready"] = ready.get(org_id, 0)
        _write(session, OrganizationProgress, OrganizationTaskStatus, "organization_id", ids, expected)


def _gate_changed(organization_ids: list[int], expected: dict[int, Expected]) -> list[int]:
    """The organizations whose own gate answer differs from the one stored (or none is)."""
    stored = dict(
        db.session.execute(
            select(OrganizationProgress.organization_id, OrganizationProgress.gate_open).where(
                OrganizationProgress.organization_id.in_(organization_ids)
            )
        ).all()
    )
    return [org_id for org_id, e in expected.items() if stored.get(org_id) != e.row["gate_open"]]


def _members_of(organization_ids: list[int]) -> set[int]:
    if not organization_ids:
        return set()
    return set(
        db.session.scalars(select(Membership.user_id).where(Membership.organization_id.in_(organization_ids)))
    )


def _refresh_activity(session: Session, organization_ids: set[int]) -> None:
    """Move only the last activity and completion times of these organizations."""
    for ids in chunks(organization_ids):
        activity, completed, _ = activity_times(ids)
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


def bring_up_to_date(session: Session) -> None:
    """The commit pipeline's projection stage: recompute everyone this transaction's changes
    noted (and, run again after the audit stage, the activity times its events moved)."""
    session.flush()
    notes = touched(session)
    while notes:
        session.info[KEY] = Touched()
        refresh(session, notes)
        session.flush()
        notes = touched(session)


def refreshed_organizations(session: Session) -> frozenset[int]:
    """Every organization whose projection this transaction refreshed so far."""
    return frozenset(session.info.get(REFRESHED, ()))


@cache
def _due_statement() -> CompoundSelect:
    """Built once: every view of a list runs it. Organizations and people in one statement."""
    organizations = select(OrganizationProgress.organization_id, literal(ORGANIZATIONS).label("what")).where(
        OrganizationProgress.refresh_due_at <= bindparam("now")
    )
    people = select(MemberProgress.user_id, literal(PEOPLE).label("what")).where(
        MemberProgress.refresh_due_at <= bindparam("now")
    )
    return union_all(organizations, people)


def refresh_due() -> int:
    """Recompute, in the caller's transaction, the organizations and people whose facts time
    alone has changed since they were written (an invitation expired, a date to sign a new
    agreement version by passed); return how many."""
    due: dict[str, set[int]] = {ORGANIZATIONS: set(), PEOPLE: set()}
    for owner, what in db.session.execute(_due_statement(), {"now": utcnow()}):
        due[what].add(owner)
    if due[ORGANIZATIONS] or due[PEOPLE]:
        refresh(db.session, Touched(organizations=due[ORGANIZATIONS], users=due[PEOPLE]))
    return len(due[ORGANIZATIONS]) + len(due[PEOPLE])


def apply_clock() -> int:
    """A clock pass: recompute what time alone made due and commit it in a transaction of its
    own (provisioning follows at that commit); run by the outbox deliverer, never inside
    another piece of work's transaction. Returns how many."""
    due = refresh_due()
    db.session.commit()
    return due


def rebuild() -> None:
    """Recompute the whole projection from live facts and commit it."""
    notes = Touched(everyone={PEOPLE, ORGANIZATIONS})
    refresh(db.session, notes)
    db.session.commit()


def install_tracking() -> None:
    """Note the fact changes of every Flask-SQLAlchemy session, for the projection stage."""
    install(FlaskSession)
