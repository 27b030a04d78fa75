"""An administrator's rule that their organization's members use a passkey (after a grace
period, ORG_PASSKEY_GRACE); access.py enforces it at sign-in and on every page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select

from .. import audit
from ..access import passkeys_due
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Organization, User, WebAuthnCredential
from ..models.base import utcnow
from .services import TeamError


def set_required(admin: User, org: Organization, required: bool) -> datetime | None:
    """Turn the rule on (the grace period starts now) or off; audited. Returns the date by which
    members must use a passkey, or None."""
    if required == (org.passkeys_required_at is not None):
        state = "already must" if required else "already need not"
        raise TeamError(f"Members {state} use a passkey: nothing was changed", "required", 409)
    org.passkeys_required_at = utcnow() if required else None
    due = passkeys_due(org)
    audit.record(
        AuditEventType.ORGANIZATION_PASSKEYS_REQUIRED
        if required
        else AuditEventType.ORGANIZATION_PASSKEYS_NOT_REQUIRED,
        actor_id=admin.id,
        organization_id=org.id,
        details={"due": due.isoformat()} if due else {},
    )
    db.session.commit()
    return due


def passkey_due_for(user_id: int, org: Organization | None) -> datetime | None:
    """For the task list: the date by which this member must add a passkey, while the grace
    period lasts and they hold none; None otherwise (one statement at most, whatever the
    organization's size)."""
    due = passkeys_due(org) if org is not None else None
    if due is None or due <= utcnow():
        return None
    holds = db.session.scalar(select(exists().where(WebAuthnCredential.user_id == user_id)))
    return None if holds else due
