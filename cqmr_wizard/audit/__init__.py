"""Audit log service: record events in the caller's transaction; they are chained at commit.

`record` only queues the event on the session. At the commit pipeline's audit stage
(`append_pending`, just before the transaction commits) its events are appended: the caller's own changes are flushed first, then a lock is taken
(PostgreSQL: a transaction-level advisory lock; SQLite: its write lock) only for reading the
last link and inserting the new rows, and it is released by the commit that follows at once.
No request holds it while it works or waits on another server. After commit the new end of
the chain is written to the checkpoint file (`write_checkpoint_after_commit`)."""

from __future__ import annotations

import json
import logging
from enum import Enum
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db
from ..models import AuditEvent, Organization, User
from ..models.base import utcnow
from ..request_id import current_request_id
from .chain import GENESIS_HASH, ChainResult, event_link, verify_chain
from .checkpoints import write_checkpoint
from .keys import newest_key

__all__ = [
    "GENESIS_HASH",
    "ChainResult",
    "append_pending",
    "committed_event_types",
    "event_link",
    "has_pending_events",
    "install_bookkeeping",
    "record",
    "refuse_unchained",
    "verify_chain",
    "write_checkpoint_after_commit",
]

log = logging.getLogger(__name__)

_PENDING = "audit_pending"
_APPENDED = "audit_appended"
_APPENDED_TYPES = "audit_appended_types"
ADVISORY_LOCK = 727274


def record(
    event_type: str,
    *,
    actor_id: int | None = None,
    organization_id: int | None = None,
    subject_user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the current transaction; it is chained and written when that commits."""
    session = db.session()
    event_type = event_type.value if isinstance(event_type, Enum) else event_type
    entry = AuditEvent(
        occurred_at=utcnow().replace(microsecond=0),
        event_type=str(event_type),
        actor_id=actor_id,
        organization_id=organization_id,
        subject_user_id=subject_user_id,
        details=json.dumps(details or {}, sort_keys=True, separators=(",", ":"), default=str),
    )
    if has_request_context():
        entry.ip_address = request.remote_addr
        entry.user_agent = (request.user_agent.string or "")[:512]
    entry.request_id = current_request_id()
    session.connection()  # begin the transaction, so that its rollback drops the event too
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, entry))
    return entry


def has_pending_events(session: Session) -> bool:
    """Whether events were recorded in the session's transaction and are not yet committed."""
    return bool(session.info.get(_PENDING))


def _share_referenced_rows(session: Session, entries: list[AuditEvent]) -> None:
    """Take now the key-share row locks that inserting the events would take under the chain
    lock: waiting there on a row another transaction locked FOR UPDATE, which in turn waits
    for the chain lock, would deadlock."""
    users = {i for e in entries for i in (e.actor_id, e.subject_user_id) if i is not None}
    organizations = {e.organization_id for e in entries if e.organization_id is not None}
    for model, ids in ((User, users), (Organization, organizations)):
        if ids:
            session.execute(
                select(model.id).where(model.id.in_(ids)).with_for_update(read=True, key_share=True)
            )


def _lock_chain(session: Session, entries: list[AuditEvent]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        _share_referenced_rows(session, entries)
        session.execute(text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})"))
    else:
        # SQLite: a write that changes nothing takes the database's write lock before the read.
        session.execute(text("UPDATE audit_event SET id = id WHERE 0 = 1"))


def append_pending(session: Session) -> None:
    """The commit pipeline's audit stage: chain and insert the transaction's events."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the caller's changes first: any wait on their row locks happens unlocked
    _lock_chain(session, [entry for _, entry in pending])
    previous = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    key_id, key = newest_key()
    for _, entry in pending:
        entry.prev_hash, entry.key_id = previous, key_id
        entry.hash = event_link(entry, key)
        session.add(entry)
        session.flush()  # one row at a time: ids follow the chain's order
        previous = entry.hash
    session.info[_APPENDED] = (entry.id, entry.hash)
    session.info[_APPENDED_TYPES] = [queued.event_type for _, queued in pending]


def refuse_unchained(session: Session) -> None:
    """Once every stage before the commit ran: an event recorded after the audit stage would
    be lost, so the commit fails instead."""
    if has_pending_events(session):
        types = [entry.event_type for _, entry in session.info[_PENDING]]
        raise RuntimeError(f"audit events recorded after the audit stage of the commit: {types}")


def write_checkpoint_after_commit(session: Session) -> None:
    """After commit: write the chain's new end to the checkpoint file."""
    appended = session.info.pop(_APPENDED, None)
    if appended and has_app_context():
        try:
            write_checkpoint(current_app.config["AUDIT_CHECKPOINT_FILE"], *appended)
        except OSError:
            log.exception("audit checkpoint could not be written")


def committed_event_types(session: Session) -> list[str]:
    """After commit: the types of the events the transaction appended, once (then forgotten)."""
    return session.info.pop(_APPENDED_TYPES, None) or []


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if previous.parent is None:
        session.info.pop(_PENDING, None)
    elif pending:
        session.info[_PENDING] = [(txn, entry) for txn, entry in pending if txn is not previous]
    session.info.pop(_APPENDED, None)
    session.info.pop(_APPENDED_TYPES, None)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def install_bookkeeping() -> None:
    """Forget the events of a transaction (or savepoint) that rolls back."""
    if not event.contains(Session, "after_soft_rollback", _after_soft_rollback):
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
