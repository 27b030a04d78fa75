"""Recording what the CQMR should hold for each member, and queueing the SCIM calls that get it there."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache

from flask import current_app, has_app_context
from sqlalchemy import CompoundSelect, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import MemberProgress, ProvisioningState, User
from ..models.base import utcnow
from ..models.provisioning import PENDING
from ..outbox.queue import enqueue
from ..tasks.projection import refreshed_organizations
from .readiness import digest, group_name, ready_members, scim_user

KIND = "scim"


def reconcile_at_commit(session: Session) -> None:
    """The commit pipeline's provisioning stage: reconcile the organizations whose projection
    this transaction refreshed (a new agreement version refreshes every one); only when a CQMR
    SCIM endpoint is set."""
    if has_app_context() and current_app.config.get("CQMR_SCIM_URL"):
        reconcile(refreshed_organizations(session))


def _queue(state: ProvisioningState) -> None:
    state.state = PENDING
    state.changed_at = utcnow()
    what = "activate" if state.desired_active else "deactivate"
    enqueue(KIND, {"user_id": state.user_id}, summary=f"CQMR user {state.user_name}: {what}")


def _new_state(user_id: int, organization_id: int, user_name: str) -> ProvisioningState:
    """Insert the person's row in a savepoint: a concurrent transaction may insert it first, and
    then its row (visible once it commits) is the one to update."""
    state = ProvisioningState(
        user_id=user_id, organization_id=organization_id, user_name=user_name, desired_digest=""
    )
    try:
        with db.session.begin_nested():
            db.session.add(state)
    except IntegrityError:
        state = db.session.scalar(select(ProvisioningState).where(ProvisioningState.user_id == user_id))
    return state


def reconcile(organization_ids: Collection[int]) -> list[ProvisioningState]:
    """Bring each member's wanted CQMR state in line with the gate; queue SCIM calls where it
    changed. Runs in the caller's transaction (the caller commits); returns what changed."""
    if not organization_ids:
        return []
    ready = ready_members(organization_ids)
    states = {
        s.user_id: s
        for s in db.session.scalars(
            select(ProvisioningState).where(
                or_(
                    ProvisioningState.organization_id.in_(list(organization_ids)),
                    ProvisioningState.user_id.in_(list(ready)),
                )
            )
        )
    }
    changed = []
    for user_id, member in ready.items():
        wanted = digest(
            scim_user(member.user, member.user_name, active=True, roles=member.roles),
            group_name(member.organization),
        )
        state = states.get(user_id) or _new_state(user_id, member.organization.id, member.user_name)
        if state.desired_digest != wanted or state.organization_id != member.organization.id:
            state.organization_id = member.organization.id
            state.user_name = member.user_name
            state.desired_active = True
            state.desired_digest = wanted
            changed.append(state)
    for user_id, state in states.items():
        if user_id not in ready and state.desired_active:
            state.desired_active = False
            state.desired_digest = digest({"userName": state.user_name, "active": False}, "")
            changed.append(state)
    for state in changed:
        _queue(state)
    return changed


def states_with_people(organization_id: int) -> list[ProvisioningState]:
    """Every provisioning state of this organization with its person, by name (one query)."""
    return list(
        db.session.scalars(
            select(ProvisioningState)
            .join(User, User.id == ProvisioningState.user_id)
            .options(contains_eager(ProvisioningState.user))
            .where(ProvisioningState.organization_id == organization_id)
            .order_by(User.full_name, User.id)
        )
    )


def retry(operator: User, organization_id: int, user_id: int) -> ProvisioningState | None:
    """Queue this member's SCIM calls again (an operator's retry); audited. None if unknown."""
    state = db.session.scalar(
        select(ProvisioningState).where(
            ProvisioningState.organization_id == organization_id, ProvisioningState.user_id == user_id
        )
    )
    if state is None:
        return None
    _queue(state)
    audit.record(
        AuditEventType.PROVISIONING_RETRIED,
        actor_id=operator.id,
        organization_id=organization_id,
        subject_user_id=user_id,
        details={"desired_active": state.desired_active, "last_error": state.last_error},
    )
    db.session.commit()
    return state


@cache
def _drift_statement() -> CompoundSelect:
    """The organizations of members whose projected readiness and wanted CQMR state disagree:
    ready but not wanted active, or wanted active but no longer ready (or no longer a member).
    Built once; joined on each table's unique user id."""
    ready_not_active = (
        select(MemberProgress.organization_id)
        .outerjoin(ProvisioningState, ProvisioningState.user_id == MemberProgress.user_id)
        .where(
            MemberProgress.ready,
            or_(ProvisioningState.id.is_(None), ProvisioningState.desired_active.is_(False)),
        )
    )
    active_not_ready = (
        select(ProvisioningState.organization_id)
        .outerjoin(MemberProgress, MemberProgress.user_id == ProvisioningState.user_id)
        .where(
            ProvisioningState.desired_active,
            or_(MemberProgress.user_id.is_(None), MemberProgress.ready.is_(False)),
        )
    )
    return union(ready_not_active, active_not_ready)


def reconcile_drift() -> int:
    """A clock pass: reconcile the organizations of members whose projected readiness differs from
    their wanted CQMR state (a change committed where no CQMR SCIM endpoint was configured, such
    as `flask agreements load` from a plain shell) and commit; returns how many organizations."""
    if not current_app.config.get("CQMR_SCIM_URL"):
        return 0
    organization_ids = set(db.session.scalars(_drift_statement()))
    if organization_ids:
        reconcile(organization_ids)
    db.session.commit()
    return len(organization_ids)
