"""Ending an organization's participation in the CQMR (offboarding), answering an
administrator's request for it, and reinstating it. Nothing is deleted: the gate's rule closes
for an offboarded organization, so the commit pipeline's provisioning stage deactivates every
member in the CQMR (through the outbox) in the same commit, and reactivates them on reinstating."""

from __future__ import annotations

from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Organization, User
from ..models.base import utcnow
from .services import OperatorError


def request_pending(org: Organization) -> bool:
    """Whether an administrator's request to end participation waits for an operator."""
    return org.offboarding_requested_at is not None and org.offboarded_at is None


def _reason(reason: str | None, missing: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OperatorError(missing, "reason")
    return reason[:500]


def offboard(operator: User, org: Organization, reason: str) -> None:
    """End the organization's participation: its members lose CQMR access at this commit and
    are refused at sign-in; a pending request of its administrator is answered by it."""
    reason = _reason(reason, "Enter the reason the organization's participation ends")
    if org.offboarded_at is not None:
        raise OperatorError("This organization's participation has already ended", status=409)
    details: dict[str, object] = {"reason": reason}
    if request_pending(org):
        details["answers_request"] = org.offboarding_request()
    org.offboarded_at = utcnow()
    org.offboarding_reason = reason
    org.offboarded_by_id = operator.id
    audit.record(
        AuditEventType.OPERATOR_ORGANIZATION_OFFBOARDED,
        actor_id=operator.id,
        organization_id=org.id,
        details=details,
    )
    db.session.commit()


def reinstate(operator: User, org: Organization, reason: str) -> None:
    """Let the organization take part again; its ready members are provisioned at this commit.
    The offboarding and any request it answered stay in the audit trail only."""
    reason = _reason(reason, "Enter the reason the organization takes part again")
    if org.offboarded_at is None:
        raise OperatorError("This organization still takes part in the CQMR", status=409)
    previous = {
        "offboarded_at": org.offboarded_at,
        "offboarding_reason": org.offboarding_reason,
        "offboarded_by_id": org.offboarded_by_id,
    }
    org.offboarded_at = org.offboarding_reason = org.offboarded_by_id = None
    org.clear_offboarding_request()
    audit.record(
        AuditEventType.OPERATOR_ORGANIZATION_REINSTATED,
        actor_id=operator.id,
        organization_id=org.id,
        details={"reason": reason, "previous": previous},
    )
    db.session.commit()


def decline(operator: User, org: Organization, reason: str) -> None:
    """Decline the administrator's request: the organization keeps taking part; the reason is
    shown to its administrators (read back from the audit trail)."""
    reason = _reason(reason, "Enter the reason the request is declined")
    if not request_pending(org):
        raise OperatorError("No request to end this organization's participation is waiting", status=409)
    details = {"reason": reason, "request": org.clear_offboarding_request()}
    audit.record(
        AuditEventType.OPERATOR_OFFBOARDING_DECLINED,
        actor_id=operator.id,
        organization_id=org.id,
        details=details,
    )
    db.session.commit()


def people(org: Organization) -> dict[int, User]:
    """Who asked for and who ended the organization's participation (one query, or none)."""
    ids = {i for i in (org.offboarding_requested_by_id, org.offboarded_by_id) if i is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
