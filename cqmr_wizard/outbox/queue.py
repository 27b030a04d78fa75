"""Adding messages to the outbox, in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from ..audit import has_pending_events
from ..extensions import db
from ..models import OutboxMessage

# Set on a session by every write it flushes or executes, cleared when it commits or rolls back.
WROTE = "outbox_session_wrote"


def enqueue(
    kind: str, payload: dict[str, Any], *, key: str | None = None, summary: str = ""
) -> OutboxMessage:
    """Add a message to the current transaction; it is delivered only once that commits."""
    message = OutboxMessage(
        kind=kind,
        key=key,
        payload=json.dumps(payload, sort_keys=True, separators=(",", ":")),
        summary=summary[:300],
    )
    db.session.add(message)
    return message


def has_uncommitted_changes(session: Session) -> bool:
    """Whether the session's transaction holds changes (or audit events) not yet committed."""
    return bool(
        session.new
        or session.dirty
        or session.deleted
        or session.info.get(WROTE)
        or has_pending_events(session)
    )
