"""Noticing, inside the committing transaction, that someone's readiness for the CQMR changed.

One mechanism: session events collect the organizations and people whose fact-bearing rows a
transaction wrote (unit-of-work changes and bulk UPDATE/DELETE statements alike); just before
the commit, `reconcile` recomputes those organizations and, where what the CQMR should hold
changed, records it and queues a "scim" outbox message in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from ..models import (
    AgreementUpload,
    AgreementVersion,
    ElectronicConsent,
    Membership,
    MembershipRole,
    MfaState,
    OidcIdentity,
    Organization,
    Signature,
    TotpCredential,
    User,
    UserSignature,
)
from ..models.team import Invitation

# The rows the gate's facts are read from. A new agreement version can only close the gate,
# so it reaches every organization with someone provisioned.
WATCHED = (
    Organization,
    Membership,
    MembershipRole,
    User,
    OidcIdentity,
    TotpCredential,
    MfaState,
    Signature,
    UserSignature,
    ElectronicConsent,
    AgreementUpload,
    Invitation,
    AgreementVersion,
)
_KEY = "provisioning_touched"


@dataclass
class Touched:
    organizations: set[int] = field(default_factory=set)
    users: set[int] = field(default_factory=set)
    memberships: set[int] = field(default_factory=set)
    everyone_provisioned: bool = False

    def __bool__(self) -> bool:
        return bool(self.organizations or self.users or self.memberships or self.everyone_provisioned)


def _enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("CQMR_SCIM_URL"))


def _touched(session: Session) -> Touched:
    return session.info.setdefault(_KEY, Touched())


def _note(touched: Touched, cls: type, organization_id, user_id, membership_id) -> None:
    if cls is AgreementVersion:
        touched.everyone_provisioned = True
    if organization_id is not None:
        touched.organizations.add(organization_id)
    if user_id is not None:
        touched.users.add(user_id)
    if membership_id is not None:
        touched.memberships.add(membership_id)


def _keys(cls: type) -> list:
    """The columns of a watched model that say whom a row is about."""
    if cls is Organization:
        return [Organization.id, None, None]
    if cls is User:
        return [None, User.id, None]
    if cls is Membership:
        return [Membership.organization_id, Membership.user_id, Membership.id]
    return [getattr(cls, name, None) for name in ("organization_id", "user_id", "membership_id")]


def _after_flush(session: Session, flush_context) -> None:
    if not _enabled():
        return
    touched = _touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        cls = type(obj)
        if cls in WATCHED:
            values = [getattr(obj, c.key) if c is not None else None for c in _keys(cls)]
            _note(touched, cls, *values)


def _bulk_statement(state: ORMExecuteState) -> None:
    """A bulk UPDATE/DELETE on a watched table: read whom it is about with its own WHERE clause."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None or not _enabled():
        return
    cls = state.bind_mapper.class_
    if cls not in WATCHED:
        return
    touched = _touched(state.session)
    if cls is AgreementVersion:
        touched.everyone_provisioned = True
        return
    columns = _keys(cls)
    present = [c for c in columns if c is not None]
    query = select(*present)
    if state.statement.whereclause is not None:
        query = query.where(state.statement.whereclause)
    for row in state.session.execute(query):
        values = iter(row)
        _note(touched, cls, *[next(values) if c is not None else None for c in columns])


def _before_commit(session: Session) -> None:
    # before_commit fires for a SAVEPOINT's release too: wait for the transaction's own commit.
    if not _enabled() or session.info.get("provisioning_reconciling") or session.in_nested_transaction():
        return
    session.flush()  # what is still pending is part of this transaction too
    touched = session.info.pop(_KEY, None)
    if not touched:
        return
    from .services import affected_organizations, reconcile

    session.info["provisioning_reconciling"] = True
    try:
        reconcile(affected_organizations(touched))
    finally:
        session.info.pop("provisioning_reconciling", None)


def _forget(session: Session, previous_transaction=None) -> None:
    session.info.pop(_KEY, None)


event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "do_orm_execute", _bulk_statement)
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _forget)
