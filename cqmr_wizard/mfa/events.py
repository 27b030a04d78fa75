"""What two-step verification tells the audit trail and the user's mailbox."""

from __future__ import annotations

from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import send_mail
from ..models import Membership, User


def organization_id(user_id: int) -> int | None:
    """The user's organization, for the audit trail."""
    return db.session.scalar(select(Membership.organization_id).where(Membership.user_id == user_id))


def record(event: AuditEventType, user: User, actor: User | None = None, **details: object) -> None:
    """Audit an event about `user`, done by `actor` (the user themselves by default)."""
    audit.record(
        event,
        actor_id=(actor or user).id,
        subject_user_id=user.id,
        organization_id=organization_id(user.id),
        details=details,
    )


def notify(user: User, subject: str, template: str, **context: object) -> None:
    """Mail the user, through the outbox: delivered only once the change is committed."""
    send_mail(user.email, subject, template, user=user, **context)
