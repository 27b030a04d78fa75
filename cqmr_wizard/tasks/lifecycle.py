"""An organization goes live once: the commit pipeline's "going live" stage records it at the
commit that first completes every required organization task (`Organization.went_live_at`, an
audit event). It is never undone: from then on the gate asks only what a live organization must
keep true (gate_rule.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..audit.events import AuditEventType
from ..models import Organization
from ..models.base import utcnow
from ..models.progress import OrganizationProgress
from .engine import Status
from .expected import chunks
from .projection import bring_up_to_date, refreshed_organizations


def go_live(session: Session) -> None:
    """The pipeline stage: mark live every organization this transaction refreshed whose required
    organization tasks are now all completed, then bring the projection up to date with it."""
    now, marked = utcnow(), False
    for ids in chunks(refreshed_organizations(session)):
        for org in session.scalars(
            select(Organization)
            .join(OrganizationProgress, OrganizationProgress.organization_id == Organization.id)
            .where(
                Organization.id.in_(ids),
                Organization.went_live_at.is_(None),
                OrganizationProgress.overall == Status.COMPLETED.name,
            )
        ):
            org.went_live_at = now
            audit.record(AuditEventType.ORGANIZATION_WENT_LIVE, organization_id=org.id)
            marked = True
    if marked:
        bring_up_to_date(session)
