"""Which rows bear the task list's facts, and the session hooks that note every change of one.

`FACT_BEARERS` is the one declaration: a model whose rows feed `Facts` is listed here with the
attribute that says whose facts they are. Changes made through the unit of work are noted after
each flush; bulk UPDATE/DELETE/INSERT statements on a listed model are noted before they run.
At commit the projection of everyone noted is recomputed in the same transaction
(tasks/projection.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ..models import (
    AgreementUpload,
    AgreementVersion,
    AuditEvent,
    Invitation,
    Membership,
    MembershipRole,
    MfaState,
    OidcIdentity,
    Organization,
    Signature,
    TotpCredential,
    TrainingResource,
    TrainingReview,
    User,
    UserSignature,
)

ORGANIZATIONS, PEOPLE = "organizations", "people"


@dataclass(frozen=True)
class FactBearer:
    """A model whose rows bear facts: the attribute naming whose, or who all (`everyone`)."""

    model: type
    organization: str | None = None
    user: str | None = None
    membership: str | None = None
    # A row that concerns every organization ("organizations") or everyone ("people").
    everyone: str | None = None


FACT_BEARERS: tuple[FactBearer, ...] = (
    FactBearer(Organization, organization="id"),
    FactBearer(Membership, organization="organization_id", user="user_id"),
    FactBearer(MembershipRole, membership="membership_id"),
    FactBearer(User, user="id"),
    FactBearer(Invitation, organization="organization_id"),
    FactBearer(TotpCredential, user="user_id"),
    FactBearer(MfaState, user="user_id"),
    FactBearer(OidcIdentity, user="user_id"),
    FactBearer(Signature, organization="organization_id"),
    FactBearer(AgreementUpload, organization="organization_id"),
    FactBearer(UserSignature, user="signer_id"),
    FactBearer(AgreementVersion, everyone=PEOPLE),
    FactBearer(TrainingReview, user="user_id"),
    FactBearer(TrainingResource, everyone=ORGANIZATIONS),
    # Last activity and completion times come from the organization's audit events.
    FactBearer(AuditEvent, organization="organization_id"),
)
BEARERS = {bearer.model: bearer for bearer in FACT_BEARERS}
KEY = "progress_touched"


@dataclass
class Touched:
    """Whose projection a transaction must recompute."""

    organizations: set[int] = field(default_factory=set)
    users: set[int] = field(default_factory=set)
    memberships: set[int] = field(default_factory=set)
    everyone: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.organizations or self.users or self.memberships or self.everyone)

    def add(self, bearer: FactBearer, values: Callable[[str], Iterable[object]]) -> None:
        """Note the ids that `values(attribute)` gives for each of the bearer's attributes."""
        if bearer.everyone:
            self.everyone.add(bearer.everyone)
        for attribute, into in (
            (bearer.organization, self.organizations),
            (bearer.user, self.users),
            (bearer.membership, self.memberships),
        ):
            if attribute is not None:
                into.update(v for v in values(attribute) if v is not None)


def touched(session: Session) -> Touched:
    """This session's notes, created on first use."""
    return session.info.setdefault(KEY, Touched())


def _row_values(obj: object) -> Callable[[str], list[object]]:
    state = inspect(obj)

    def values(attribute: str) -> list[object]:
        history = state.attrs[attribute].history
        found = [*history.added, *history.unchanged, *history.deleted]
        if attribute in state.dict:
            found.append(state.dict[attribute])
        return found

    return values


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    notes = touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        bearer = BEARERS.get(type(obj))
        if bearer is not None and (obj not in session.dirty or session.is_modified(obj)):
            notes.add(bearer, _row_values(obj))


def _statement_values(state: ORMExecuteState, bearer: FactBearer) -> Callable[[str], list[object]] | None:
    """The ids a bulk statement concerns, read before it runs; None when they cannot be known."""
    statement = state.statement
    if state.is_insert:
        rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
        compiled = statement.compile(dialect=state.session.get_bind().dialect).params
        rows = [{**compiled, **row} for row in rows]
        if any(attr not in row for row in rows for attr in _attributes(bearer)):
            return None
        return lambda attribute: [row[attribute] for row in rows]
    if statement.whereclause is None:
        return None
    attributes = _attributes(bearer)
    found = state.session.execute(
        select(*(getattr(bearer.model, a) for a in attributes)).where(statement.whereclause)
    ).all()
    return lambda attribute: [row[attributes.index(attribute)] for row in found]


def _attributes(bearer: FactBearer) -> list[str]:
    return [a for a in (bearer.organization, bearer.user, bearer.membership) if a is not None]


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    bearer = BEARERS.get(state.bind_mapper.class_)
    if bearer is None:
        return
    notes = touched(state.session)
    values = _statement_values(state, bearer)
    if values is None:
        notes.everyone.add(PEOPLE)  # whose rows it touched is unknown: recompute everyone
    else:
        notes.add(bearer, values)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(KEY, None)


def install(session_class: type[Session], before_commit: Callable[[Session], None]) -> None:
    """Listen to every session of `session_class`; `before_commit` recomputes what was noted."""
    if event.contains(session_class, "after_flush", _after_flush):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "do_orm_execute", _do_orm_execute)
    event.listen(session_class, "after_transaction_end", _after_transaction_end)
    event.listen(session_class, "before_commit", before_commit)
