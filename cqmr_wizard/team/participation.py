"""An administrator's request to end their organization's participation in the CQMR: recorded
and audited here; a registry operator confirms it (offboarding) or declines it, with a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AuditEvent, Organization, User
from ..models.base import utcnow
from .services import TeamError

# The events that change where a request stands: the latest of them says whether an operator's
# decline is still the last word.
REQUEST_EVENTS = (
    AuditEventType.ORGANIZATION_OFFBOARDING_REQUESTED,
    AuditEventType.ORGANIZATION_OFFBOARDING_WITHDRAWN,
    AuditEventType.OPERATOR_OFFBOARDING_DECLINED,
    AuditEventType.OPERATOR_ORGANIZATION_OFFBOARDED,
    AuditEventType.OPERATOR_ORGANIZATION_REINSTATED,
)


@dataclass(frozen=True)
class Declined:
    """An operator's answer to the organization's last request: when, and why."""

    at: datetime
    reason: str


def request_offboarding(admin: User, org: Organization, reason: str) -> None:
    """Ask a registry operator to end the organization's participation; nothing changes until
    an operator confirms it."""
    reason = (reason or "").strip()
    if not reason:
        raise TeamError("Enter why your organization's participation should end", "reason")
    if org.offboarding_requested_at is not None:
        raise TeamError("Your organization has already asked; an operator will answer", status=409)
    org.offboarding_requested_at = utcnow()
    org.offboarding_requested_by_id = admin.id
    org.offboarding_request_reason = reason[:500]
    audit.record(
        AuditEventType.ORGANIZATION_OFFBOARDING_REQUESTED,
        actor_id=admin.id,
        organization_id=org.id,
        details={"reason": org.offboarding_request_reason},
    )
    db.session.commit()


def withdraw_request(admin: User, org: Organization) -> None:
    """Withdraw the organization's request before an operator answers it."""
    if org.offboarding_requested_at is None:
        raise TeamError("Your organization has no request waiting", status=409)
    details = org.clear_offboarding_request()
    audit.record(
        AuditEventType.ORGANIZATION_OFFBOARDING_WITHDRAWN,
        actor_id=admin.id,
        organization_id=org.id,
        details=details,
    )
    db.session.commit()


def last_declined(org_id: int) -> Declined | None:
    """The operator's decline, when it is the last word on the organization's requests."""
    event = db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.organization_id == org_id,
            AuditEvent.event_type.in_([str(t) for t in REQUEST_EVENTS]),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if event is None or event.event_type != AuditEventType.OPERATOR_OFFBOARDING_DECLINED:
        return None
    return Declined(event.occurred_at, json.loads(event.details).get("reason", ""))
