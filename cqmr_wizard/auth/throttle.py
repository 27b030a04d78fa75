"""Per email address and source address sign-in delays (NIST SP 800-63B §5.2.2): failures from
one place slow down only that place, so nobody elsewhere can lock an owner out. Addresses are
keyed by their SHA-256 whether or not an account has them, so the delays reveal nothing."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app, request
from sqlalchemy import delete, select

from ..backoff import doubling
from ..errors import when_to_retry
from ..extensions import db
from ..instruments import sign_in_throttled
from ..models import SignInThrottle
from ..models.base import utcnow
from ..refusals import Refusal
from ..upsert import upsert


class Throttled(Refusal):
    """Sign-in from this source for this address must wait until `retry_at` (429)."""

    status = 429

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"Too many unsuccessful attempts. {when_to_retry(retry_at)}", "password")
        self.retry_at = retry_at


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def source_address() -> str:
    """The client address (ProxyFix has applied PROXY_COUNT)."""
    return (request.remote_addr or "-")[:64]


def check(email: str) -> None:
    """Raise Throttled while this source must wait before trying this address again."""
    blocked = db.session.scalar(
        select(SignInThrottle.blocked_until).where(
            SignInThrottle.email_digest == email_digest(email), SignInThrottle.source == source_address()
        )
    )
    if blocked is not None and blocked > utcnow():
        sign_in_throttled.inc()  # no audit event records a throttled try: counted where decided
        raise Throttled(blocked)


def record_failure(email: str) -> None:
    """Count a failure from this source (atomic across workers); past the free attempts, each
    one doubles the wait before the next (the caller commits)."""
    config = current_app.config
    now = utcnow()
    table = SignInThrottle.__table__
    statement = (
        upsert(
            db.engine,
            table,
            [table.c.email_digest, table.c.source],
            {"failures": table.c.failures + 1, "last_failure_at": now},
        )
        .values(email_digest=email_digest(email), source=source_address(), failures=1, last_failure_at=now)
        .returning(table.c.id, table.c.failures)
    )
    row_id, failures = db.session.execute(statement).one()
    beyond = failures - config["SIGN_IN_THROTTLE_FREE_ATTEMPTS"]
    if beyond >= 0:
        delay = doubling(config["SIGN_IN_THROTTLE_BASE_DELAY"], beyond, config["SIGN_IN_THROTTLE_MAX_DELAY"])
        db.session.execute(table.update().where(table.c.id == row_id).values(blocked_until=now + delay))


def clear(email: str, everywhere: bool = False) -> None:
    """Forget the failures for this address from this source (or from every source)."""
    condition = SignInThrottle.email_digest == email_digest(email)
    if not everywhere:
        condition = condition & (SignInThrottle.source == source_address())
    db.session.execute(delete(SignInThrottle).where(condition).execution_options(synchronize_session=False))
