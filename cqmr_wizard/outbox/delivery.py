"""Delivering outbox messages: claim (a lease no other deliverer takes), send with no
transaction open, then record the outcome. Failures retry with exponential backoff.

HANDLERS maps a message kind to the function that sends its payload; a handler raises on
failure. Each sender registers its kind (`register_handler`, from create_app): the outbox
imports none of them."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..backoff import doubling
from ..extensions import db
from ..instruments import outbox_deliveries
from ..models import OutboxMessage
from ..models.base import utcnow
from ..models.outbox import FAILED, PENDING, SENT
from ..request_id import carrying

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def register_handler(kind: str, handler: Handler) -> None:
    """Send every message of `kind` with `handler(payload)`, which raises on failure."""
    HANDLERS[kind] = handler


@dataclass
class Outcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def line(self) -> str:
        return f"Outbox: {self.sent} sent, {self.retrying} failed and will be retried, {self.failed} gave up."


def _claimable(now):
    return (
        OutboxMessage.status == PENDING,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def claim(ids: list[int] | None = None, limit: int = 50) -> tuple[str, list[int]]:
    """Lease due messages (these `ids`, or the oldest due) to this deliverer, in a short
    transaction of its own; return the lease's token and the ids it got. Rows another
    deliverer holds are skipped."""
    now = utcnow()
    token = secrets.token_hex(16)
    with Session(db.engine) as session, session.begin():
        query = select(OutboxMessage.id).where(*_claimable(now)).order_by(OutboxMessage.id).limit(limit)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        # PostgreSQL: rows locked by another deliverer's claim are skipped, not waited for.
        candidates = session.scalars(query.with_for_update(skip_locked=True)).all()
        if not candidates:
            return token, []
        # The conditions again, so that on SQLite (no row locks) a row claimed meanwhile is left.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(candidates), *_claimable(now))
            .values(claim_token=token, claimed_until=now + current_app.config["OUTBOX_LEASE"])
        )
        claimed = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id)
        )
        return token, list(claimed)


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    return doubling(config["OUTBOX_RETRY_BASE"], attempts - 1, config["OUTBOX_RETRY_MAX"])


def deliver_one(message_id: int, token: str, outcome: Outcome) -> None:
    """Send one claimed message and record how it went; no transaction is open while sending.

    The lease is renewed just before sending, and only if it is still this deliverer's: a
    message whose lease ran out while it waited in a batch may have gone to another one."""
    with Session(db.engine, expire_on_commit=False) as session:
        with session.begin():
            renewed = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
                .values(claimed_until=utcnow() + current_app.config["OUTBOX_LEASE"])
            ).rowcount
            if not renewed:
                return
            message = session.get(OutboxMessage, message_id)
            kind, payload, attempts = message.kind, json.loads(message.payload), message.attempts + 1
            request_id = message.request_id
        fields = {"outbox_message_id": message_id, "kind": kind, "attempt": attempts}
        error = None
        # The handler's log lines carry the id of the request that queued the message.
        with carrying(request_id):
            try:
                if kind not in HANDLERS:
                    raise LookupError(f"no handler is registered for {kind!r} messages")
                HANDLERS[kind](payload)
                log.info("outbox message %s (%s) sent", message_id, kind, extra=fields)
            except Exception as exc:  # any failure of a handler is recorded and retried
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("outbox message %s (%s) failed: %s", message_id, kind, error, extra=fields)
        now = utcnow()
        values: dict[str, Any] = {
            "attempts": OutboxMessage.attempts + 1,
            "claim_token": None,
            "claimed_until": None,
        }
        if error is None:
            values.update(status=SENT, sent_at=now, last_error=None)
            outcome.sent += 1
            result = "sent"
        else:
            gave_up = attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
            result = "failed" if gave_up else "retry"
            values.update(
                status=FAILED if gave_up else PENDING,
                last_error=error,
                next_attempt_at=now + _backoff(attempts),
            )
            if gave_up:
                outcome.failed += 1
            else:
                outcome.retrying += 1
        with session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
                .values(**values)
            )
        outbox_deliveries.labels(kind, result).inc()


def release(token: str, ids: list[int]) -> None:
    """Give back this deliverer's lease on messages it claimed but will not send now, so that
    another deliverer takes them at once rather than when the lease runs out."""
    if not ids:
        return
    with Session(db.engine) as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token)
            .values(claim_token=None, claimed_until=None)
        )


def deliver(
    ids: Iterable[int] | None = None, limit: int = 50, stop: Callable[[], bool] | None = None
) -> Outcome:
    """Claim and deliver due messages: all of these `ids` (a batch of `limit` at a time), or
    up to `limit` of the oldest due. When `stop()` turns true, the message in hand is finished
    and the rest of the batch is released."""
    outcome = Outcome()
    wanted = None if ids is None else list(ids)
    batches = [None] if wanted is None else [wanted[i : i + limit] for i in range(0, len(wanted), limit)]
    stopping = stop or (lambda: False)
    for batch in batches:
        if stopping():
            break
        token, claimed = claim(batch, limit)
        for index, message_id in enumerate(claimed):
            if stopping():
                release(token, claimed[index:])
                return outcome
            deliver_one(message_id, token, outcome)
    return outcome
