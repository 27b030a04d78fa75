"""Registry operator rules: operator accounts, suspending organizations, audited exports."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from .. import audit
from ..audit.events import AuditEventType
from ..auth import tokens
from ..extensions import db
from ..mail import external_url, send_mail
from ..models import Organization, User
from ..models.base import utcnow
from ..refusals import Refusal


class OperatorError(Refusal):
    """An operator rule refused the request."""


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_operator(email: str, full_name: str) -> tuple[User, str]:
    """Create an operator account without a password; return it and a one-time link that
    sets the password (mailed by `send_set_password`)."""
    email = email.strip()
    if "@" not in email or len(email) > 254 or not full_name.strip():
        raise OperatorError("Give a valid email address and a name.")
    existing = find_user(email)
    if existing is not None:
        raise OperatorError(
            f"An account with the email address {email} already exists; operators get accounts of their own."
        )
    user = User(email=email, full_name=full_name.strip()[:200], is_operator=True)
    db.session.add(user)
    db.session.flush()
    token = tokens.issue_token(user, tokens.RESET_PASSWORD, current_app.config["EMAIL_TOKEN_TTL"])
    audit.record(AuditEventType.OPERATOR_CREATED, subject_user_id=user.id, details={"email": user.email})
    db.session.commit()
    return user, external_url("auth.reset_password", token=token)


def send_set_password(user: User, link: str) -> None:
    """Mail the new operator their set-password link, and commit (the mail leaves after it)."""
    send_mail(
        user.email,
        "Set your password for the CQMR operator console",
        "operator_created",
        user=user,
        link=link,
        hours=int(current_app.config["EMAIL_TOKEN_TTL"].total_seconds() // 3600),
    )
    db.session.commit()


def revoke_operator(email: str) -> User:
    """Take away a user's operator role; their sessions end."""
    user = find_user(email)
    if user is None or not user.is_operator:
        raise OperatorError(f"No operator has the email address {email}.")
    user.is_operator = False
    audit.record(AuditEventType.OPERATOR_REVOKED, subject_user_id=user.id, details={"email": user.email})
    db.session.commit()
    current_app.session_interface.store.delete_for_user(user.id)
    return user


def operators() -> list[User]:
    return list(db.session.scalars(select(User).where(User.is_operator).order_by(User.email)))


def suspend_organization(operator: User, org: Organization, reason: str) -> None:
    """Suspend the organization: the gate to the CQMR stays shut and its members see why."""
    reason = reason.strip()
    if not reason:
        raise OperatorError("Enter the reason for the suspension")
    if org.suspended_at is not None:
        raise OperatorError("This organization is already suspended")
    org.suspended_at = utcnow()
    org.suspension_reason = reason[:500]
    audit.record(
        AuditEventType.OPERATOR_ORGANIZATION_SUSPENDED,
        actor_id=operator.id,
        organization_id=org.id,
        details={"reason": org.suspension_reason},
    )
    db.session.commit()


def reactivate_organization(operator: User, org: Organization) -> None:
    """Lift a suspension."""
    if org.suspended_at is None:
        raise OperatorError("This organization is not suspended")
    previous = org.suspension_reason
    org.suspended_at = None
    org.suspension_reason = None
    audit.record(
        AuditEventType.OPERATOR_ORGANIZATION_REACTIVATED,
        actor_id=operator.id,
        organization_id=org.id,
        details={"previous_reason": previous},
    )
    db.session.commit()


def record_export(operator: User, what: str, criteria: dict[str, Any], rows: int) -> None:
    """Audit an export: who took which records out of the service."""
    audit.record(
        AuditEventType.OPERATOR_EXPORTED,
        actor_id=operator.id,
        details={"export": what, "criteria": criteria, "rows": rows},
    )
    db.session.commit()
