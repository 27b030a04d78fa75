"""Audit log service: append hash-chained events and verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import Row, select, text

from ..extensions import db
from ..models import AuditEvent
from ..models.base import utcnow

GENESIS_HASH = "0" * 64


def _canonical(event: AuditEvent | Row) -> bytes:
    body = {
        "occurred_at": event.occurred_at.isoformat(),
        "event_type": event.event_type,
        "actor_id": event.actor_id,
        "organization_id": event.organization_id,
        "subject_user_id": event.subject_user_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def event_hash(event: AuditEvent | Row) -> str:
    """Return the SHA-256 over an event's content, which includes the previous hash."""
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    event_type: str,
    *,
    actor_id: int | None = None,
    organization_id: int | None = None,
    subject_user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in the current transaction; the caller commits it with its change."""
    # Serialise writers so that two workers never chain onto the same previous row.
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    elif dialect == "sqlite":
        # A write that changes nothing takes SQLite's write lock before the last hash is read.
        db.session.execute(text("UPDATE audit_event SET id = id WHERE 0 = 1"))
    previous = db.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        occurred_at=utcnow().replace(microsecond=0),
        event_type=event_type,
        actor_id=actor_id,
        organization_id=organization_id,
        subject_user_id=subject_user_id,
        details=json.dumps(details or {}, sort_keys=True, separators=(",", ":"), default=str),
        prev_hash=previous or GENESIS_HASH,
    )
    if has_request_context():
        event.ip_address = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:512]
        event.request_id = g.get("request_id")
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass(frozen=True)
class ChainResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None


def verify_chain(batch: int = 1000) -> ChainResult:
    """Walk the log in order; report the first row whose link or content does not hold."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        # Plain rows, not ORM objects: verifying must not fill or clear the caller's session.
        rows = db.session.execute(
            select(AuditEvent.__table__).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return ChainResult(True, checked)
        for event in rows:
            if event.prev_hash != expected_prev:
                return ChainResult(
                    False,
                    checked,
                    event.id,
                    "does not link to the row before it (a row was removed or altered)",
                )
            if event_hash(event) != event.hash:
                return ChainResult(False, checked, event.id, "its content does not match its hash")
            expected_prev = event.hash
            checked += 1
            last_id = event.id
