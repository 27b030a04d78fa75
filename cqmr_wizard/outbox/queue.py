"""Adding messages to the outbox, in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from ..extensions import db
from ..models import OutboxMessage
from ..request_id import current_request_id


def enqueue(
    kind: str, payload: dict[str, Any], *, key: str | None = None, summary: str = ""
) -> OutboxMessage:
    """Add a message to the current transaction; it is delivered only once that commits."""
    message = OutboxMessage(
        kind=kind,
        key=key,
        payload=json.dumps(payload, sort_keys=True, separators=(",", ":")),
        summary=summary[:300],
        request_id=current_request_id(),
    )
    db.session.add(message)
    return message
