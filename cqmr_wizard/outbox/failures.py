"""Messages whose delivery failed: listed for operators (console page and CLI), and retried."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select, update

from .. import audit
from ..extensions import db
from ..models import OutboxMessage
from ..models.base import utcnow
from ..models.outbox import FAILED, PENDING
from .dispatch import deliver_after_commit


def failed_messages(limit: int = 200) -> list[OutboxMessage]:
    """Messages that gave up, and pending ones whose last attempt failed, newest first."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    OutboxMessage.status == FAILED,
                    (OutboxMessage.status == PENDING) & OutboxMessage.last_error.is_not(None),
                )
            )
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def retry(ids: Iterable[int] | None = None, *, actor_id: int | None = None) -> list[int]:
    """Queue failed messages (these `ids`, or every one that gave up) again, due now, with a
    fresh count of attempts; commit, and deliver them after commit. Returns their ids."""
    query = select(OutboxMessage.id).where(OutboxMessage.status == FAILED)
    if ids is not None:
        query = select(OutboxMessage.id).where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.status.in_((FAILED, PENDING)),
            OutboxMessage.sent_at.is_(None),
        )
    chosen = list(db.session.scalars(query))
    if not chosen:
        return []
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(chosen))
        .values(status=PENDING, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    audit.record("outbox.retried", actor_id=actor_id, details={"message_ids": chosen})
    deliver_after_commit(db.session(), chosen)
    db.session.commit()
    return chosen
