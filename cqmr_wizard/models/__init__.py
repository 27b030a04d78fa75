"""All models, importable from one place (Alembic and the app factory import this)."""

from .accounts import EmailToken, User
from .audit import AuditEvent
from .base import utcnow
from .organizations import Membership, MembershipRole, Organization
from .sessions import WebSession

__all__ = [
    "AuditEvent",
    "EmailToken",
    "Membership",
    "MembershipRole",
    "Organization",
    "User",
    "WebSession",
    "utcnow",
]
