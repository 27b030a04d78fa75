"""Verification runs, kept in `audit_verification`: a full check (`flask audit verify`), or
one that continues from the last good run over the rows appended since (the audit trail
page, `flask audit seal`). Operators see the last result and when it ran."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditEvent, AuditVerification
from .chain import GENESIS_HASH, ChainResult, verify_chain


def latest() -> AuditVerification | None:
    """The most recent verification run."""
    return db.session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))


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
    return _continue(latest(), limit)


def _continue(last: AuditVerification | None, limit: int | None) -> AuditVerification | None:
    if last is not None and not last.ok:
        return last
    after_id = last.last_id if last else 0
    after_hash = (last.last_hash if last else None) or GENESIS_HASH
    result = verify_chain(after_id=after_id, after_hash=after_hash, limit=limit)
    if result.ok and result.checked == 0:
        return last
    return _save(result, full=False, from_id=after_id, base_checked=last.checked if last else 0)


# The latest run and the latest full run (one row when they are the same), each with the id of
# the newest event: one round trip for what the audit trail page shows on every view.
_PAGE_STATE = (
    select(AuditVerification, select(func.max(AuditEvent.id)).scalar_subquery())
    .where(
        or_(
            AuditVerification.id == select(func.max(AuditVerification.id)).scalar_subquery(),
            AuditVerification.id
            == select(func.max(AuditVerification.id))
            .where(AuditVerification.full.is_(True))
            .scalar_subquery(),
        )
    )
    .order_by(AuditVerification.id.desc())
)


def verify_new_for_page(
    limit: int | None = None,
) -> tuple[AuditVerification | None, AuditVerification | None]:
    """`verify_new(limit)` and the latest full run; when no event was appended after the last
    good run there is nothing to walk, and one statement answers both."""
    rows = db.session.execute(_PAGE_STATE).all()
    last, newest_id = rows[0] if rows else (None, None)
    last_full = next((run for run, _ in rows if run.full), None)
    if last is not None and last.ok and (newest_id is None or newest_id <= last.last_id):
        return last, last_full
    return _continue(last, limit), last_full
