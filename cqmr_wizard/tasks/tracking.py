"""Which rows bear the task list's facts, and the session hooks that note every change of one.

`FACT_BEARERS` is the one declaration: a model whose rows feed `Facts` is listed here with the
attribute that says whose facts they are. Changes made through the unit of work are noted after
each flush; bulk UPDATE/DELETE/INSERT statements on a listed model are noted before they run.
At commit the projection of everyone noted is recomputed in the same transaction, by the
commit pipeline's projection stage (tasks/projection.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from ..models import (
    AccessReview,
    AgreementExtension,
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
    WebAuthnCredential,
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
    # The organization whose activity times (not facts) the row moves.
    activity: str | None = None
    # When given, a row written without any of these columns (or an update changing none of
    # them) changes no fact: the attempt counters beside them are not facts.
    columns: tuple[str, ...] = ()


FACT_BEARERS: tuple[FactBearer, ...] = (
    FactBearer(Organization, organization="id"),
    FactBearer(Membership, organization="organization_id", user="user_id"),
    FactBearer(MembershipRole, membership="membership_id"),
    FactBearer(User, user="id", columns=("email_verified_at", "deactivated_at", "full_name")),
    FactBearer(Invitation, organization="organization_id"),
    FactBearer(TotpCredential, user="user_id", columns=("state",)),
    # Added or removed, a passkey moves the fact; its counter and last use do not.
    FactBearer(WebAuthnCredential, user="user_id", columns=("user_id",)),
    FactBearer(MfaState, user="user_id", columns=("recovery_codes_confirmed_at",)),
    FactBearer(OidcIdentity, user="user_id"),
    FactBearer(Signature, organization="organization_id"),
    FactBearer(AgreementUpload, organization="organization_id"),
    FactBearer(UserSignature, user="signer_id"),
    FactBearer(AgreementVersion, everyone=PEOPLE),
    FactBearer(AgreementExtension, organization="organization_id"),
    FactBearer(TrainingReview, user="user_id"),
    FactBearer(TrainingResource, everyone=ORGANIZATIONS),
    # The last access review sets the next one's due date (and, enforced, the gate).
    FactBearer(AccessReview, organization="organization_id"),
    # Last activity and completion times come from the organization's audit events.
    FactBearer(AuditEvent, activity="organization_id"),
)
BEARERS = {bearer.model: bearer for bearer in FACT_BEARERS}
KEY = "progress_touched"
REFRESHED = "progress_refreshed"  # organizations refreshed so far in the transaction


@dataclass
class Touched:
    """Whose projection a transaction must recompute."""

    organizations: set[int] = field(default_factory=set)
    users: set[int] = field(default_factory=set)
    memberships: set[int] = field(default_factory=set)
    everyone: set[str] = field(default_factory=set)
    activity: set[int] = field(default_factory=set)  # organizations whose times alone moved

    def __bool__(self) -> bool:
        return bool(self.organizations or self.users or self.memberships or self.everyone or self.activity)

    def add(self, bearer: FactBearer, values: Callable[[str], Iterable[object]]) -> None:
        """Note the ids that `values(attribute)` gives for each of the bearer's attributes."""
        if bearer.everyone:
            self.everyone.add(bearer.everyone)
        for attribute, into in (
            (bearer.organization, self.organizations),
            (bearer.user, self.users),
            (bearer.membership, self.memberships),
            (bearer.activity, self.activity),
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
    for obj in session.deleted:
        if (bearer := BEARERS.get(type(obj))) is not None:
            notes.add(bearer, _row_values(obj))
    for obj in session.new:
        bearer = BEARERS.get(type(obj))
        if bearer is not None and (
            not bearer.columns or any(getattr(obj, c) is not None for c in bearer.columns)
        ):
            notes.add(bearer, _row_values(obj))
    for obj in session.dirty:
        bearer = BEARERS.get(type(obj))
        if bearer is not None and _changes_facts(obj, bearer):
            notes.add(bearer, _row_values(obj))


def _changes_facts(obj: object, bearer: FactBearer) -> bool:
    """Whether an updated row changed a column that bears facts."""
    state = inspect(obj)
    changed = [a.key for a in state.attrs if a.history.has_changes()]
    return bool(changed) and (not bearer.columns or any(c in bearer.columns for c in changed))


def _statement_values(state: ORMExecuteState, bearer: FactBearer) -> Callable[[str], list[object]] | None:
    """The ids a bulk statement concerns, read before it runs; None when they cannot be known."""
    statement = state.statement
    if state.is_insert:
        rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
        compiled = statement.compile(dialect=state.session.get_bind().dialect).params
        rows = [{**compiled, **row} for row in rows]
        if bearer.columns and all(row.get(c) is None for row in rows for c in bearer.columns):
            return lambda attribute: []  # written without any fact-bearing column
        if any(attr not in row for row in rows for attr in _attributes(bearer)):
            return None
        return lambda attribute: [row[attribute] for row in rows]
    if statement.whereclause is None:
        return None
    if state.is_update and bearer.columns:
        assigned = {getattr(c, "key", c) for c in getattr(statement, "_values", None) or {}}
        if assigned and not assigned & set(bearer.columns):
            return lambda attribute: []  # no fact-bearing column is set
    attributes = _attributes(bearer)
    found = state.session.execute(
        select(*(getattr(bearer.model, a) for a in attributes)).where(statement.whereclause)
    ).all()
    return lambda attribute: [row[attributes.index(attribute)] for row in found]


def _attributes(bearer: FactBearer) -> list[str]:
    return [
        a for a in (bearer.organization, bearer.user, bearer.membership, bearer.activity) if a is not None
    ]


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
        session.info.pop(REFRESHED, None)


def install(session_class: type[Session]) -> None:
    """Note the fact changes of every session of `session_class`, and forget them at its end."""
    if event.contains(session_class, "after_flush", _after_flush):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "do_orm_execute", _do_orm_execute)
    event.listen(session_class, "after_transaction_end", _after_transaction_end)
