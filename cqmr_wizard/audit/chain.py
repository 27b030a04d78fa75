"""The chain: each row's link is an HMAC-SHA-256, under a configured key, over its content and
the previous row's link. Verification walks rows in id order from any verified point."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Row, select

from ..extensions import db
from ..models import AuditEvent
from .keys import UNKEYED, keys_by_id

GENESIS_HASH = "0" * 64


def _canonical(event: AuditEvent | Row, keyed: bool) -> bytes:
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
    if keyed:
        body["key_id"] = event.key_id
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def event_link(event: AuditEvent | Row, key: bytes | None) -> str:
    """The row's link: HMAC-SHA-256 under `key`, or (rows from before keys) plain SHA-256."""
    if key is None:
        return hashlib.sha256(_canonical(event, keyed=False)).hexdigest()
    return hmac.new(key, _canonical(event, keyed=True), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None
    last_id: int = 0  # the last row found good (where a later check may continue)
    last_hash: str = GENESIS_HASH


def _row_problem(event: Row, expected_prev: str, unkeyed_through: int, keys: dict[str, bytes]) -> str | None:
    if event.prev_hash != expected_prev:
        return "does not link to the row before it (a row was removed or altered)"
    if event.key_id == UNKEYED:
        if event.id > unkeyed_through:
            return "carries no key although it was written after AUDIT_UNKEYED_THROUGH (it was rewritten)"
        key = None
    elif event.key_id in keys:
        key = keys[event.key_id]
    else:
        return f"is linked under key {event.key_id}, which is not in AUDIT_HMAC_KEYS"
    if not hmac.compare_digest(event_link(event, key), event.hash):
        return "its content does not match its hash (altered, or re-hashed without the key)"
    return None


def verify_chain(
    batch: int = 1000, *, after_id: int = 0, after_hash: str = GENESIS_HASH, limit: int | None = None
) -> ChainResult:
    """Walk the log in id order from the row `after_id` (whose link is `after_hash`), at most
    `limit` rows; report the first row whose link or content does not hold."""
    keys = keys_by_id()
    unkeyed_through = current_app.config["AUDIT_UNKEYED_THROUGH"]
    table = AuditEvent.__table__
    expected_prev, last_id, checked = after_hash, after_id, 0
    while limit is None or checked < limit:
        size = batch if limit is None else min(batch, limit - checked)
        # Plain rows, not ORM objects: verifying must not fill or clear the caller's session.
        rows = db.session.execute(
            select(table).where(table.c.id > last_id).order_by(table.c.id).limit(size)
        ).all()
        if not rows:
            break
        for event in rows:
            problem = _row_problem(event, expected_prev, unkeyed_through, keys)
            if problem:
                return ChainResult(False, checked, event.id, problem, last_id, expected_prev)
            expected_prev, last_id = event.hash, event.id
            checked += 1
        if len(rows) < size:
            break
    return ChainResult(True, checked, last_id=last_id, last_hash=expected_prev)
