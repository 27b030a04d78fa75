"""Verification runs, kept in `audit_verification`: a full check (`flask audit verify`), or
one that continues from the last good run over the rows appended since (the audit trail
page, `flask audit seal`). Operators see the last result and when it ran."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditVerification
from .chain import GENESIS_HASH, ChainResult, verify_chain


def latest() -> AuditVerification | None:
    """The most recent verification run."""
    return db.session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))


def latest_full() -> AuditVerification | None:
    """The most recent check of the whole chain."""
    return db.session.scalar(
        select(AuditVerification)
        .where(AuditVerification.full.is_(True))
        .order_by(AuditVerification.id.desc())
        .limit(1)
    )


def _save(result: ChainResult, *, full: bool, from_id: int, base_checked: int) -> AuditVerification:
    run = AuditVerification(
        full=full,
        from_id=from_id,
        last_id=result.last_id,
        last_hash=result.last_hash,
        checked=base_checked + result.checked,
        ok=result.ok,
        broken_id=result.first_broken_id,
        reason=result.reason,
    )
    # A session of its own: saving the run must not commit or expire the caller's objects.
    with Session(db.engine, expire_on_commit=False) as session:
        session.add(run)
        session.commit()
    return run


def verify_all() -> AuditVerification:
    """Check the whole chain from its first row and record the result."""
    return _save(verify_chain(), full=True, from_id=0, base_checked=0)


def verify_new(limit: int | None = None) -> AuditVerification | None:
    """Continue from the last good run over rows appended since (at most `limit`); a broken
    chain stays reported as broken until a full check passes. None: nothing new to record."""
    last = latest()
    if last is not None and not last.ok:
        return last
    after_id = last.last_id if last else 0
    after_hash = (last.last_hash if last else None) or GENESIS_HASH
    result = verify_chain(after_id=after_id, after_hash=after_hash, limit=limit)
    if result.ok and result.checked == 0:
        return last
    return _save(result, full=False, from_id=after_id, base_checked=last.checked if last else 0)
